import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MostradorContracts

/// The seed's ticket routes (seeds 000, 001, 004): list, conversation, send, notify; and the dashboard.
struct TicketController {
    let conversations: Conversations
    let readModels: ReadModels
    let templates: Templates

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("tickets", use: list)
        group.get("ticket/:id/conversacion", use: conversation)
        group.post("ticket/:id/enviar-mensaje", use: send)
        group.post("ticket/:id/notificar", use: notify)
        group.get("api/dashboard", use: dashboard)
    }

    // MARK: Reading

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let agent = try context.requireAgent
        let query = request.uri.queryParameters
        let page = try Parameters.Page(request)
        var filter = Tickets.Filter(page: page.number, pageSize: page.size)
        if let estado = query["estado"].map(String.init), !estado.isEmpty {
            filter.statuses = try estado.split(separator: ",").map { text in
                guard let status = TicketStatus(parsing: String(text)) else {
                    throw APIError.badRequest(
                        "Estado desconocido '\(text)'; use new, open, waiting, resolved o closed (o nuevo, abierto, en_espera, resuelto, cerrado)"
                    )
                }
                return status
            }
        }
        if let categoria = query["categoria"].map(String.init), !categoria.isEmpty {
            filter.category = try Self.category(categoria)
        }
        filter.search = query["q"].map(String.init)?.trimmingCharacters(in: .whitespaces)
        let (rows, total) = try await conversations.tickets.list(filter, visibleTo: agent)
        return try JSONValue.array(rows.map(WireFormat.ticket)).response(
            headers: WireFormat.pageHeaders(page, total: total))
    }

    @Sendable func conversation(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await conversations.ticket(
            try Self.number(context), for: context.caller, to: .read)
        let after = try Parameters.integer(
            request.uri.queryParameters["desde"], name: "desde", default: 0, range: 0...Int.max)
        let messages = try await conversations.messages.after(Int64(after), ticketID: ticket.id, limit: 100_000)
        guard let summary = try await conversations.tickets.summary(id: ticket.id) else {
            throw ConversationProblem.notFound
        }
        return try JSONValue.object([
            "historial": .array(messages.map(WireFormat.historyItem)), "ticket": WireFormat.ticket(summary),
        ]).response()
    }

    @Sendable func dashboard(_ request: Request, context: APIRequestContext) async throws -> Response {
        _ = try context.requireAgent
        let days = try Parameters.integer(
            request.uri.queryParameters["days"], name: "days", default: 14, range: 1...365)
        let dashboard = try await readModels.dashboard(days: days)
        return try JSONValue.object([
            "days": .int(Int64(dashboard.days)),
            "tickets_per_day": .array(
                dashboard.perDay.map { ["date": .string($0.date), "count": .int(Int64($0.count))] }),
            "categories": .object(dashboard.categories.mapValues { .int(Int64($0)) }),
            "first_response": [
                "average_seconds": .optional(dashboard.averageResponseSeconds),
                "median_seconds": .optional(dashboard.medianResponseSeconds),
                "answered": .int(Int64(dashboard.answered)),
                "per_day": .array(
                    dashboard.perDay.map {
                        ["date": .string($0.date), "average_seconds": .optional($0.averageResponseSeconds)]
                    }),
            ],
            "open_tickets": .int(Int64(dashboard.openTickets)),
        ]).response()
    }

    // MARK: Sending

    struct SendPayload: Decodable {
        let mensaje: String
        let clientID: String?
        enum CodingKeys: String, CodingKey {
            case mensaje
            case clientID = "client_id"
        }
    }

    @Sendable func send(_ request: Request, context: APIRequestContext) async throws -> Response {
        let payload = try await request.decodeJSON(SendPayload.self)
        let text = try Parameters.messageText(payload.mensaje, field: "mensaje")
        let clientID = try Parameters.clientID(payload.clientID)
        return try await deliver(text, clientID: clientID, context: context, extra: [:])
    }

    struct NotifyPayload: Decodable {
        let plantilla: String?
        let template: String?
        let clientID: String?
        enum CodingKeys: String, CodingKey {
            case plantilla, template
            case clientID = "client_id"
        }
    }

    @Sendable func notify(_ request: Request, context: APIRequestContext) async throws -> Response {
        let payload = try await request.decodeJSON(NotifyPayload.self, limit: 16 << 10)
        let ticket = try await conversations.ticket(try Self.number(context), for: context.caller, to: .write)
        let name = payload.plantilla ?? payload.template ?? Templates.defaultName
        guard
            let text = templates.render(
                name, language: ticket.language, customerName: ticket.customerName, ticketID: ticket.id)
        else {
            throw APIError(
                status: .badRequest, detail: "Plantilla desconocida: '\(name)'",
                extra: ["plantillas": .array(templates.names.map(JSONValue.string))])
        }
        return try await deliver(
            text, clientID: try Parameters.clientID(payload.clientID), context: context,
            extra: ["plantilla": .string(name)])
    }

    /// Posts the technician's message, then waits (up to the send wait) for the relay's verdict: 200 sent,
    /// 503 WhatsApp disconnected (saved, resent automatically), 502 refused, 504 no verdict in time (still queued).
    private func deliver(_ text: String, clientID: String?, context: APIRequestContext, extra: [String: JSONValue])
        async throws -> Response
    {
        let agent = try context.requireAgent
        let ticket = try await conversations.ticket(try Self.number(context), for: context.caller, to: .write)
        context.logger.info("technician message", metadata: ["ticket": "\(ticket.id)", "agent": "\(agent.username)"])
        let posted = try await conversations.post(text, clientID: clientID, by: .agent(agent), in: ticket.id)
        var answer = extra
        answer["ticket_id"] = .int(posted.ticketID)
        answer["mensaje_id"] = .int(posted.messageID)
        answer["telefono"] = .optional(posted.phone)
        let sent = answer.merging(["status": "enviado", "mensaje": "Mensaje enviado correctamente"]) { $1 }
        guard posted.channel == .whatsapp else { return try JSONValue.object(sent).response() }
        let outcome = try await conversations.outcome(of: posted)
        answer["estado_entrega"] = .string((outcome.status ?? .queued).rawValue)
        switch outcome.status {
        case .sent, .delivered, .read:
            return try JSONValue.object(sent.merging(answer) { $1 }).response()
        case .waitingBridge:
            throw APIError(
                status: .serviceUnavailable, detail: "WhatsApp desconectado",
                extra: answer.merging(["guardado": true, "reenvio_automatico": true]) { $1 })
        case .failed:
            throw APIError(
                status: .badGateway, detail: "WhatsApp rechazó el mensaje: \(outcome.reason ?? "sin motivo")",
                extra: answer.merging(["guardado": true]) { $1 })
        case .queued, .retrying, nil:
            throw APIError(
                status: .gatewayTimeout, detail: "Timeout: WhatsApp no respondió a tiempo; el mensaje sigue en cola",
                extra: answer.merging(["guardado": true, "reenvio_automatico": true]) { $1 })
        }
    }

    // MARK: Parameters

    /// The ticket number in the path (these seed routes take numbers only).
    static func number(_ context: APIRequestContext) throws -> String {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError.notFound("Ticket no encontrado")
        }
        return String(id)
    }

    static func category(_ text: String) throws -> String {
        switch text.lowercased() {
        case "hardware": "Hardware"
        case "software": "Software"
        case "unknown", "sin_clasificar", "desconocida": "unknown"
        default: throw APIError.badRequest("Categoría desconocida '\(text)'; use Hardware, Software o unknown")
        }
    }
}
