import Foundation
import Hummingbird
import MostradorContracts

/// The answer to `POST /webhook` (seed 004): `duplicado` only when the message had been received before. A message
/// the api chose not to store (a sender over its new-ticket cap) is still a 200, so a bridge that retries every
/// non-2xx does not retry it forever: `{"status": "ignorado", "ignored": "rate_limited", "detail": "…"}`.
struct WebhookReceiptJSON: ResponseEncodable, Sendable {
    let status: String
    let ticketID: Int64?
    let duplicate: Bool?
    let ignored: String?
    let detail: String?
    /// A delivery receipt (`"tipo": "estado"`): the status taken.
    var deliveryStatus: DeliveryStatus? = nil

    enum CodingKeys: String, CodingKey {
        case status, ignored, detail
        case ticketID = "ticket_id"
        case duplicate = "duplicado"
        case deliveryStatus = "estado"
    }

    init(ticketID: Int64, duplicate: Bool) {
        status = "recibido"
        self.ticketID = ticketID
        self.duplicate = duplicate ? true : nil
        ignored = nil
        detail = nil
    }

    /// A delivery receipt taken (applied now, or kept until the relay reports the message sent).
    init(deliveryStatus: DeliveryStatus) {
        status = "recibido"
        ticketID = nil
        duplicate = nil
        ignored = nil
        detail = nil
        self.deliveryStatus = deliveryStatus
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
