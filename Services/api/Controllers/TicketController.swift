import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MostradorContracts

/// The seed's ticket routes (seeds 000, 001, 004): list, conversation, send, notify; and the dashboard.
struct TicketController {
    let conversations: Conversations
    let readModels: ReadModels
    /// Ready-made messages ("Notificar") and WhatsApp templates.
    let templates: MessageTemplates

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("tickets", use: list)
        group.get("ticket/:id/conversacion", use: conversation)
        group.post("ticket/:id/enviar-mensaje", use: send)
        group.post("ticket/:id/notificar", use: notify)
        group.post("ticket/:id/enviar-plantilla", use: sendTemplate)
        group.get("api/dashboard", use: dashboard)
    }

    // MARK: Reading

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<[TicketJSON]> {
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
        filter.label = query["label"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        filter.search = query["q"].map(String.init)?.trimmingCharacters(in: .whitespaces)
        let (rows, total) = try await conversations.tickets.list(filter, visibleTo: agent)
        return EditedResponse(headers: page.headers(total: total), response: rows.map(TicketJSON.init))
    }

    @Sendable func conversation(_ request: Request, context: APIRequestContext) async throws -> ConversationJSON {
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .read)
        let after = try Parameters.integer(
            request.uri.queryParameters["desde"], name: "desde", default: 0, range: 0...Int.max)
        let messages = try await conversations.messages.after(
            Int64(after), ticketID: ticket.id, limit: 100_000, for: Audience(context.caller))
        guard let summary = try await conversations.tickets.summary(id: ticket.id) else {
            throw ConversationProblem.notFound
        }
        return ConversationJSON(
            history: messages.map(HistoryItemJSON.init), ticket: TicketJSON(summary),
            window: try await conversations.serviceWindow(ticket).map { ServiceWindowJSON($0, now: Date()) })
    }

    @Sendable func dashboard(_ request: Request, context: APIRequestContext) async throws -> DashboardJSON {
        _ = try context.requireAgent
        let days = try Parameters.integer(
            request.uri.queryParameters["days"], name: "days", default: 14, range: 1...365)
        return DashboardJSON(try await readModels.dashboard(days: days))
    }

    // MARK: Sending

    struct SendPayload: Decodable {
        let mensaje: String
        let clientID: String?
        /// The id of the ticket's message this one answers (quoted on WhatsApp).
        let replyTo: Int64?
        enum CodingKeys: String, CodingKey {
            case mensaje
            case clientID = "client_id"
            case replyTo = "responde_a"
        }
    }

    @Sendable func send(_ request: Request, context: APIRequestContext) async throws -> SendResultJSON {
        let payload = try await request.decodeJSON(SendPayload.self)
        let text = try Parameters.messageText(payload.mensaje, field: "mensaje")
        let clientID = try Parameters.clientID(payload.clientID)
        return try await deliver(text, clientID: clientID, context: context, template: nil, replyTo: payload.replyTo)
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

    @Sendable func notify(_ request: Request, context: APIRequestContext) async throws -> SendResultJSON {
        let payload = try await request.decodeJSON(NotifyPayload.self, limit: 16 << 10)
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .write)
        let name = payload.plantilla ?? payload.template ?? Templates.defaultName
        // The ready-made messages admins keep in `/api/templates` (seeded from the templates file on first start).
        guard let template = try await templates.message(named: name, language: ticket.language) else {
            let names = Set(try await templates.all(kind: .message).map { $0.name.lowercased() }).sorted()
            throw APIError(
                status: .badRequest, detail: "Plantilla desconocida: '\(name)'",
                extra: ["plantillas": .array(names.map(JSONValue.string))])
        }
        let text = template.fill(customerName: ticket.customerName, ticketID: ticket.id)
        return try await deliver(
            text, clientID: try Parameters.clientID(payload.clientID), context: context, template: name)
    }

    struct TemplatePayload: Decodable {
        let templateID: Int64?
        let parameters: [String]?
        let clientID: String?
        enum CodingKeys: String, CodingKey {
            case templateID = "plantilla_id"
            case parameters = "parametros"
            case clientID = "client_id"
        }
    }

    /// `POST /ticket/{id}/enviar-plantilla`: an approved WhatsApp template with its parameters — what reaches a
    /// Cloud API customer whose 24-hour window has closed. Stored as the technician's message with the rendered
    /// body; answered like `enviar-mensaje`.
    @Sendable func sendTemplate(_ request: Request, context: APIRequestContext) async throws -> SendResultJSON {
        // Who may write in this ticket is settled before anything about the template is said.
        _ = try context.requireAgent
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .write)
        guard ticket.channel == .whatsapp else {
            throw APIError.badRequest("Las plantillas de WhatsApp solo se envían en tickets de WhatsApp")
        }
        let payload = try await request.decodeJSON(TemplatePayload.self, limit: 64 << 10)
        guard let id = payload.templateID else { throw APIError.badRequest("Falta el campo 'plantilla_id'") }
        guard let template = try await templates.find(id), template.kind == .whatsapp else {
            throw APIError.notFound("Plantilla de WhatsApp no encontrada")
        }
        guard template.status == .approved else {
            throw APIError(
                status: .conflict,
                detail:
                    "La plantilla '\(template.name)' no está aprobada por Meta (estado: \(template.status.rawValue))")
        }
        let parameters = payload.parameters ?? []
        do {
            try template.checkParameters(parameters)
        } catch .invalid(let detail) {
            throw APIError.badRequest(detail)
        }
        let text = try Parameters.messageText(template.render(parameters), field: "cuerpo")
        return try await deliver(
            text, clientID: try Parameters.clientID(payload.clientID), context: context, template: template.name,
            whatsAppTemplate: RelayTemplate(name: template.name, language: template.language, parameters: parameters))
    }

    /// Posts the technician's message, then waits (up to the send wait) for the relay's verdict: 200 sent,
    /// 503 WhatsApp disconnected (saved, resent automatically), 502 refused, 504 no verdict in time (still queued).
    /// The message is saved in every case; the error bodies say so (`guardado`) and carry the same ids as the
    /// answer.
    private func deliver(
        _ text: String, clientID: String?, context: APIRequestContext, template: String?, replyTo: Int64? = nil,
        whatsAppTemplate: RelayTemplate? = nil
    ) async throws -> SendResultJSON {
        let agent = try context.requireAgent
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .write)
        context.logger.info("technician message", metadata: ["ticket": "\(ticket.id)", "agent": "\(agent.username)"])
        let posted = try await conversations.post(
            text, clientID: clientID, by: .agent(agent), in: ticket.id, replyTo: replyTo, template: whatsAppTemplate)
        guard posted.channel == .whatsapp else {
            return SendResultJSON(
                ticketID: posted.ticketID, messageID: posted.messageID, phone: posted.phone, template: template,
                deliveryStatus: nil)
        }
        let outcome = try await conversations.outcome(of: posted)
        let status = outcome.status ?? .queued
        var answer: [String: JSONValue] = [
            "ticket_id": .int(posted.ticketID), "mensaje_id": .int(posted.messageID),
            "telefono": .optional(posted.phone), "estado_entrega": .string(status.rawValue),
        ]
        if let template { answer["plantilla"] = .string(template) }
        switch outcome.status {
        case .sent, .delivered, .read:
            return SendResultJSON(
                ticketID: posted.ticketID, messageID: posted.messageID, phone: posted.phone, template: template,
                deliveryStatus: status)
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

    static func category(_ text: String) throws -> String {
        switch text.lowercased() {
        case "hardware": "Hardware"
        case "software": "Software"
        case "unknown", "sin_clasificar", "desconocida": "unknown"
        default: throw APIError.badRequest("Categoría desconocida '\(text)'; use Hardware, Software o unknown")
        }
    }
}
