import Foundation
import Hummingbird

/// A label as `/api/labels` and seed 002's rooms show it.
struct LabelJSON: ResponseEncodable, Sendable {
    let id: Int64
    let name: String
    let color: String
    /// Only in `GET /api/labels`: how many tickets carry it.
    let tickets: Int?

    init(_ label: TicketLabel, tickets: Int? = nil) {
        id = label.id
        name = label.name
        color = label.color
        self.tickets = tickets
    }
}

/// A label inside a ticket of seeds 000/001 (`etiquetas`), in their Spanish keys.
struct TicketLabelJSON: Encodable, Sendable {
    let id: Int64
    let name: String
    let color: String

    enum CodingKeys: String, CodingKey {
        case id, color
        case name = "nombre"
    }

    init(_ label: TicketLabel) {
        id = label.id
        name = label.name
        color = label.color
    }
}

/// `PUT /api/tickets/{id}/labels`: the ticket's labels now.
struct TicketLabelsJSON: ResponseEncodable, Sendable {
    let ticketID: Int64
    let labels: [LabelJSON]

    enum CodingKeys: String, CodingKey {
        case labels
        case ticketID = "ticket_id"
    }
}
