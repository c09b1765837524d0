import Foundation
import Hummingbird

/// Private notes on a ticket: `POST/GET /api/tickets/{id}/notes` (agents who may read the ticket).
struct NotesController {
    let conversations: Conversations

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("api/tickets/:id/notes", use: create)
        group.get("api/tickets/:id/notes", use: list)
    }

    struct Body: Decodable {
        let content: String?
    }

    @Sendable func create(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<NoteJSON> {
        let agent = try context.requireAgent
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .note)
        let body = try await request.decodeJSON(Body.self)
        guard let content = body.content else { throw APIError.badRequest("Falta 'content'") }
        let written = try await conversations.addNote(content, by: agent, in: ticket.id)
        guard let note = try await conversations.messages.find(written.messageID, ticketID: ticket.id, for: .agents)
        else { throw APIError.notFound("Nota no encontrada") }
        return EditedResponse(status: .created, response: NoteJSON(note, mentioned: written.mentioned))
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> [NoteJSON] {
        _ = try context.requireAgent
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .note)
        return try await conversations.messages.notes(ticketID: ticket.id).map { NoteJSON($0) }
    }
}

/// A private note: `role` is always `note`.
struct NoteJSON: ResponseEncodable, Sendable {
    struct Author: Encodable, Sendable {
        let id: String?
        let name: String
        enum CodingKeys: String, CodingKey {
            case id
            case name = "nombre"
        }
    }

    let id: Int64
    let ticketID: Int64
    let role = "note"
    let content: String
    let timestamp: Date
    let author: Author
    /// Only when the note was written: the usernames its mentions notified.
    let mentioned: [String]?

    enum CodingKeys: String, CodingKey {
        case id, role, content, timestamp
        case ticketID = "ticket_id"
        case author = "autor"
        case mentioned = "mencionados"
    }

    init(_ message: MessageRow, mentioned: [String]? = nil) {
        id = message.id
        ticketID = message.ticketID
        content = message.content
        timestamp = message.createdAt
        author = Author(id: message.agentID.map { "agente-\($0)" }, name: message.agentName ?? "Técnico")
        self.mentioned = mentioned
    }
}
