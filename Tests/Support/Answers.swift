import Foundation

/// The api's JSON answers that the end-to-end tests read, decoded with `HTTPResult.decode(_:)`: only the fields
/// some test checks. (The in-process tests have their own, `APITests/Responses.swift`.)

/// `POST /webhook`.
public struct WebhookReceipt: Decodable, Sendable {
    public let status: String
    public let ticketID: Int
    public let duplicado: Bool?

    enum CodingKeys: String, CodingKey {
        case status, duplicado
        case ticketID = "ticket_id"
    }
}

/// One entry of a ticket's `historial` (seed 001).
public struct HistoryEntry: Decodable, Sendable {
    /// `responde_a`: the message a reply answers.
    public struct Quoted: Decodable, Sendable {
        public let id: Int
        public let role: String
    }

    public let id: Int?
    public let role: String
    public let content: String
    public let timestamp: String?
    public let estadoEntrega: String?
    public let errorEntrega: String?
    public let adjuntoTipo: String?
    public let respondeA: Quoted?

    enum CodingKeys: String, CodingKey {
        case id, role, content, timestamp
        case estadoEntrega = "estado_entrega"
        case errorEntrega = "error_entrega"
        case adjuntoTipo = "adjunto_tipo"
        case respondeA = "responde_a"
    }
}

/// `GET /ticket/{id}/conversacion`.
public struct Conversation: Decodable, Sendable {
    public struct Ticket: Decodable, Sendable {
        public let uuid: String
    }
    public let ticket: Ticket
    public let historial: [HistoryEntry]
}

/// One ticket of `GET /tickets`.
public struct TicketSummary: Decodable, Sendable {
    public let id: Int
    public let nombre: String?
    public let telefono: String?
    public let equipo: String?
    public let activo: String?
    public let confianza: Double?
}

/// An error: `detail` (seeds 000/001/004) and `error` (seed 002), plus what some errors add.
public struct Failure: Decodable, Sendable {
    public let detail: String?
    public let error: String?
    public let guardado: Bool?
    public let plantillas: [String]?
}

/// `POST /ticket/{id}/enviar-mensaje`.
public struct Sent: Decodable, Sendable {
    public let status: String
    public let ticketID: Int
    public let telefono: String?
    public let mensaje: String
    public let mensajeID: Int?

    enum CodingKeys: String, CodingKey {
        case status, telefono, mensaje
        case ticketID = "ticket_id"
        case mensajeID = "mensaje_id"
    }
}
