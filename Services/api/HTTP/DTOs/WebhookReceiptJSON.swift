import Foundation
import Hummingbird

/// The answer to `POST /webhook` (seed 004): `duplicado` only when the message had been received before. A message
/// the api chose not to store (a sender over its new-ticket cap) is still a 200, so a bridge that retries every
/// non-2xx does not retry it forever: `{"status": "ignorado", "ignored": "rate_limited", "detail": "…"}`.
struct WebhookReceiptJSON: ResponseEncodable, Sendable {
    let status: String
    let ticketID: Int64?
    let duplicate: Bool?
    let ignored: String?
    let detail: String?

    enum CodingKeys: String, CodingKey {
        case status, ignored, detail
        case ticketID = "ticket_id"
        case duplicate = "duplicado"
    }

    init(ticketID: Int64, duplicate: Bool) {
        status = "recibido"
        self.ticketID = ticketID
        self.duplicate = duplicate ? true : nil
        ignored = nil
        detail = nil
    }

    /// Not stored: `reason` is machine-readable, `detail` says why in Spanish.
    init(ignored reason: String, detail: String) {
        status = "ignorado"
        ticketID = nil
        duplicate = nil
        ignored = reason
        self.detail = detail
    }
}
