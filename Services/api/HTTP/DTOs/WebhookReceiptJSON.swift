import Foundation
import Hummingbird

/// The answer to `POST /webhook` (seed 004): `duplicado` only when the message had been received before.
struct WebhookReceiptJSON: ResponseEncodable, Sendable {
    let status = "recibido"
    let ticketID: Int64
    let duplicate: Bool?

    enum CodingKeys: String, CodingKey {
        case status
        case ticketID = "ticket_id"
        case duplicate = "duplicado"
    }

    init(ticketID: Int64, duplicate: Bool) {
        self.ticketID = ticketID
        self.duplicate = duplicate ? true : nil
    }
}
