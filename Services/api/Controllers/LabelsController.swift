import Foundation
import Hummingbird

/// Labels: admins keep the catalogue (`/api/labels`), agents who may read a ticket set its labels
/// (`PUT /api/tickets/{id}/labels`), and `GET /tickets?label=` / `filtered_chats?label=` filter by one.
struct LabelsController {
    let labels: Labels
    let conversations: Conversations
    let audit: AuditStore

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/labels", use: list)
        group.post("api/labels", use: create)
        group.patch("api/labels/:label", use: update)
        group.put("api/labels/:label", use: update)
        group.delete("api/labels/:label", use: delete)
        group.put("api/tickets/:id/labels", use: setOnTicket)
    }

    struct Body: Decodable {
        let name: String?
        let color: String?
    }

    struct TicketBody: Decodable {
        let labels: [String]?
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> [LabelJSON] {
        _ = try context.requireAgent
        return try await labels.all().map { LabelJSON($0.label, tickets: $0.tickets) }
    }

    @Sendable func create(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<LabelJSON> {
        let admin = try context.requireAdmin(to: "gestionar etiquetas")
        let body = try await request.decodeJSON(Body.self)
        guard let name = body.name else { throw APIError.badRequest("Falta 'name'") }
        guard let color = body.color else { throw APIError.badRequest("Falta 'color'") }
        let created = try await Self.mapping {
            try await labels.create(name: try Self.name(name), color: try Self.color(color))
        }
        try await audit.record(
            AuditEntry(
                "label.create", by: admin, target: ("label", String(created.id)),
                details: ["nombre": created.name, "color": created.color]))
        return EditedResponse(status: .created, response: LabelJSON(created))
    }

    @Sendable func update(_ request: Request, context: APIRequestContext) async throws -> LabelJSON {
        let admin = try context.requireAdmin(to: "gestionar etiquetas")
        let id = try Self.id(context)
        let body = try await request.decodeJSON(Body.self)
        guard body.name != nil || body.color != nil else { throw APIError.badRequest("Indique 'name' o 'color'") }
        let name = try body.name.map(Self.name)
        let color = try body.color.map(Self.color)
        let updated = try await Self.mapping { try await labels.update(id, name: name, color: color) }
        try await audit.record(
            AuditEntry(
                "label.update", by: admin, target: ("label", String(id)),
                details: ["nombre": updated.name, "color": updated.color]))
        return LabelJSON(updated)
    }

    @Sendable func delete(_ request: Request, context: APIRequestContext) async throws -> Response {
        let admin = try context.requireAdmin(to: "gestionar etiquetas")
        let id = try Self.id(context)
        try await Self.mapping { try await labels.delete(id) }
        try await audit.record(AuditEntry("label.delete", by: admin, target: ("label", String(id))))
        return Response(status: .noContent)
    }

    @Sendable func setOnTicket(_ request: Request, context: APIRequestContext) async throws -> TicketLabelsJSON {
        let agent = try context.requireAgent
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .label)
        let body = try await request.decodeJSON(TicketBody.self)
        guard let names = body.labels else { throw APIError.badRequest("Falta 'labels' (una lista de nombres)") }
        guard names.count <= Labels.perTicket else {
            throw APIError.badRequest("Un ticket lleva como mucho \(Labels.perTicket) etiquetas")
        }
        let set = try await Self.mapping { try await labels.set(names, on: ticket.id, by: agent.id) }
        conversations.live.send(LiveEvent(ticketID: ticket.id, kind: .status))
        return TicketLabelsJSON(ticketID: ticket.id, labels: set.map { LabelJSON($0) })
    }

    // MARK: Input

    static func id(_ context: APIRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("label"), let id = Int64(text), id > 0 else {
            throw APIError.notFound("Etiqueta no encontrada")
        }
        return id
    }

    static func name(_ text: String) throws -> String {
        let name: String
        do {
            name = try TextRules.name(text)
        } catch {
            throw APIError.badRequest("'name': \(error.nameReason)")
        }
        guard name.count <= 40 else { throw APIError.badRequest("'name' excede 40 caracteres") }
        return name
    }

    /// `#rrggbb`, stored lowercase.
    static func color(_ text: String) throws -> String {
        let hex = text.dropFirst()
        guard text.first == "#", hex.count == 6, hex.allSatisfy(\.isHexDigit) else {
            throw APIError.badRequest("'color' debe ser un color #rrggbb, por ejemplo #d97706")
        }
        return text.lowercased()
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch Labels.Problem.duplicate(let name) {
            throw APIError(status: .conflict, detail: "Ya existe una etiqueta llamada '\(name)'")
        } catch Labels.Problem.notFound {
            throw APIError.notFound("Etiqueta no encontrada")
        } catch Labels.Problem.unknown(let names) {
            throw APIError.badRequest("Etiquetas desconocidas: \(names.joined(separator: ", "))")
        }
    }
}
