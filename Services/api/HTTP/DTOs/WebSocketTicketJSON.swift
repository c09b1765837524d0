import Foundation
import Hummingbird

/// The answer to `POST /api/auth/ws-ticket/`: a single-use key for `/ws/soporte/ticket/{id}/?ticket=…`.
struct WebSocketTicketJSON: ResponseEncodable, Sendable {
    let ticket: String
    /// Seconds it may wait before it is used.
    let expiresIn: Int
    /// The conversation it is limited to, when one was asked for.
    let ticketID: Int64?

    enum CodingKeys: String, CodingKey {
        case ticket
        case expiresIn = "expires_in"
        case ticketID = "ticket_id"
    }
}
