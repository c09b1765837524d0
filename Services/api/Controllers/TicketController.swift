import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MostradorContracts
import NIOCore

/// The seed's ticket routes (seeds 000, 001, 004): list, conversation, send, notify.
struct TicketController {
    let tickets: TicketStore
    let chats: ChatStore
    let notifier: DeliveryNotifier
    let templates: Templates
    let sendWait: Duration

    static let maximumMessageLength = 4096

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("tickets", use: list)
        group.get("ticket/:id/conversacion", use: conversation)
        group.post("ticket/:id/enviar-mensaje", use: send)
        group.post("ticket/:id/notificar", use: notify)
    }

    // MARK: Reading

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = TicketStore.Filter()
        if let estado = query["estado"].map(String.init), !estado.isEmpty {
            filter.statuses = try estado.split(separator: ",").map { try Self.status(String($0)) }
        }
        if let categoria = query["categoria"].map(String.init), !categoria.isEmpty {
            filter.category = try Self.category(categoria)
        }
        filter.search = query["q"].map(String.init)?.trimmingCharacters(in: .whitespaces)
        filter.page = try Self.integer(query["page"], name: "page", default: 1, range: 1...100_000)
        filter.pageSize = try Self.integer(query["page_size"], name: "page_size", default: 20, range: 1...100)
        let (rows, total) = try await tickets.list(filter)
        let pages = max(1, (total + filter.pageSize - 1) / filter.pageSize)
        return try JSONValue.array(rows.map(Self.json)).response(headers: [
            HTTPField.Name("X-Total-Count")!: String(total),
            HTTPField.Name("X-Page")!: String(filter.page),
            HTTPField.Name("X-Total-Pages")!: String(pages),
        ])
    }

    @Sendable func conversation(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try Self.ticketID(context)
        let after = try Self.integer(
            request.uri.queryParameters["desde"], name: "desde", default: 0, range: 0...Int.max)
        guard let (ticket, messages) = try await tickets.conversation(ticketID: id, afterMessageID: Int64(after)) else {
            throw APIError.notFound("Ticket no encontrado")
        }
        let historial: [JSONValue] = messages.map { message in
            var item: [String: JSONValue] = [
                "id": .int(message.id),
                "role": .string(message.role),
                "content": .string(message.content),
                "timestamp": .date(message.createdAt),
                "tipo": .string(message.type),
            ]
            if let attachment = message.attachmentID {
                item["adjunto_id"] = .int(attachment)
                item["adjunto_url"] = .string("/attachments/\(attachment)")
                item["adjunto_tipo"] = .optional(message.attachmentType)
            }
            if let status = message.deliveryStatus {
                item["estado_entrega"] = .string(status)
                item["intento"] = .int(Int64(message.deliveryAttempt))
                item["error_entrega"] = .optional(message.deliveryError)
            }
            return .object(item)
        }
        return try JSONValue.object(["historial": .array(historial), "ticket": Self.json(ticket)]).response()
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
        let agent = try context.requireAgent
        let id = try Self.ticketID(context)
        let payload = try JSONDecoder().decode(SendPayload.self, from: try await request.collectBody(upTo: 64 << 10))
        let text = payload.mensaje.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw APIError.badRequest("El mensaje no puede estar vacío") }
        guard text.count <= Self.maximumMessageLength else {
            throw APIError.badRequest("El mensaje excede \(Self.maximumMessageLength) caracteres")
        }
        if let clientID = payload.clientID, clientID.isEmpty || clientID.count > 100 {
            throw APIError.badRequest("El campo 'client_id' debe tener entre 1 y 100 caracteres")
        }
        context.logger.info(
            "Enviando mensaje del técnico", metadata: ["ticket": "\(id)", "agent": "\(agent.username)"])
        return try await deliver(ticketID: id, text: text, agent: agent, clientID: payload.clientID, extra: [:])
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
        let agent = try context.requireAgent
        let id = try Self.ticketID(context)
        let body = try await request.collectBody(upTo: 16 << 10)
        let payload =
            body.readableBytes == 0
            ? NotifyPayload(plantilla: nil, template: nil, clientID: nil)
            : try JSONDecoder().decode(NotifyPayload.self, from: body)
        let name = payload.plantilla ?? payload.template ?? Templates.defaultName
        guard let ticket = try await tickets.summary(ticketID: id) else {
            throw APIError.notFound("Ticket no encontrado")
        }
        let language = try await tickets.language(ticketID: id)
        guard
            let text = templates.render(name, language: language, customerName: ticket.customerName, ticketID: id)
        else {
            throw APIError(
                status: .badRequest, detail: "Plantilla desconocida: '\(name)'",
                extra: ["plantillas": .array(templates.names.map(JSONValue.string))])
        }
        return try await deliver(
            ticketID: id, text: text, agent: agent, clientID: payload.clientID, extra: ["plantilla": .string(name)]
        )
    }

    /// Stores the message with its `relay.send` command, then waits (up to `sendWait`) for the relay's verdict.
    private func deliver(
        ticketID: Int64, text: String, agent: Agent, clientID: String?,
        extra: [String: JSONValue]
    ) async throws -> Response {
        // Agents act on their own chats and unassigned ones (writing takes them); admins on all (seed 002).
        do {
            try await chats.claimForWriting(ticketID: ticketID, by: agent)
        } catch ChatStore.Problem.notFound {
            throw APIError.notFound("Ticket no encontrado")
        } catch let problem as ChatStore.Problem {
            throw problem.apiError
        }
        let agentID = agent.id
        let outbound: TicketStore.Outbound
        do {
            outbound = try await tickets.addOutbound(
                ticketID: ticketID, text: text, agentID: agentID, clientID: clientID)
        } catch TicketStore.OutboundProblem.ticketNotFound {
            throw APIError.notFound("Ticket no encontrado")
        } catch TicketStore.OutboundProblem.ticketClosed {
            throw APIError.badRequest("El ticket está cerrado; no se pueden enviar mensajes")
        } catch TicketStore.OutboundProblem.noWhatsAppAddress {
            throw APIError(status: .unprocessableContent, detail: "El cliente no tiene un número de WhatsApp")
        }
        var answer = extra
        answer["ticket_id"] = .int(ticketID)
        answer["mensaje_id"] = .int(outbound.messageID)
        answer["telefono"] = .optional(outbound.phone)
        guard outbound.channel == Channel.whatsapp.rawValue else {
            answer["status"] = "enviado"
            answer["mensaje"] = "Mensaje enviado correctamente"
            return try JSONValue.object(answer).response()
        }
        var reason: String?
        let outcome = try await notifier.outcome(messageID: outbound.messageID, timeout: sendWait) {
            let row = try await tickets.deliveryStatus(messageID: outbound.messageID)
            reason = row?.error
            return row?.status.flatMap(DeliveryStatus.init(rawValue:))
        }
        answer["estado_entrega"] = .string((outcome ?? .queued).rawValue)
        switch outcome {
        case .sent, .delivered, .read:
            answer["status"] = "enviado"
            answer["mensaje"] = "Mensaje enviado correctamente"
            return try JSONValue.object(answer).response()
        case .waitingBridge:
            throw APIError(
                status: .serviceUnavailable, detail: "WhatsApp desconectado",
                extra: answer.merging(["guardado": true, "reenvio_automatico": true]) { $1 })
        case .failed:
            throw APIError(
                status: .badGateway, detail: "WhatsApp rechazó el mensaje: \(reason ?? "sin motivo")",
                extra: answer.merging(["guardado": true]) { $1 })
        case .queued, .retrying, nil:
            throw APIError(
                status: .gatewayTimeout, detail: "Timeout: WhatsApp no respondió a tiempo; el mensaje sigue en cola",
                extra: answer.merging(["guardado": true, "reenvio_automatico": true]) { $1 })
        }
    }

    // MARK: Parameters

    static func ticketID(_ context: APIRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError.notFound("Ticket no encontrado")
        }
        return id
    }

    static func integer(_ value: Substring?, name: String, default defaultValue: Int, range: ClosedRange<Int>) throws
        -> Int
    {
        guard let value, !value.isEmpty else { return defaultValue }
        guard let number = Int(value), range.contains(number) else {
            throw APIError.badRequest(
                "El parámetro '\(name)' debe ser un entero entre \(range.lowerBound) y \(range.upperBound)")
        }
        return number
    }

    static let statusAliases = [
        "nuevo": "new", "abierto": "open", "en_espera": "waiting", "esperando": "waiting", "resuelto": "resolved",
        "cerrado": "closed",
    ]

    static func status(_ text: String) throws -> String {
        let lowered = text.lowercased().trimmingCharacters(in: .whitespaces)
        if ["new", "open", "waiting", "resolved", "closed"].contains(lowered) { return lowered }
        if let alias = statusAliases[lowered] { return alias }
        throw APIError.badRequest(
            "Estado desconocido '\(text)'; use new, open, waiting, resolved o closed (o nuevo, abierto, en_espera, resuelto, cerrado)"
        )
    }

    static func category(_ text: String) throws -> String {
        switch text.lowercased() {
        case "hardware": "Hardware"
        case "software": "Software"
        case "unknown", "sin_clasificar", "desconocida": "unknown"
        default: throw APIError.badRequest("Categoría desconocida '\(text)'; use Hardware, Software o unknown")
        }
    }

    static func json(_ ticket: TicketStore.Summary) -> JSONValue {
        [
            "id": .int(ticket.id),
            "uuid": .string(ticket.uuid),
            "estado": .string(ticket.status),
            "channel": .string(ticket.channel),
            "categoria": .string(ticket.category),
            "confianza": .optional(ticket.confidence),
            "requiere_revision": .bool(ticket.needsReview),
            "nombre": .optional(ticket.customerName),
            "telefono": .optional(ticket.phone),
            "descripcion": .optional(ticket.description),
            "equipo": .optional(ticket.equipment),
            "agente_asignado": .optional(ticket.assignedAgentID),
            "ultimo_mensaje": .optional(ticket.lastMessage),
            "created_at": .date(ticket.createdAt),
            "updated_at": .date(ticket.updatedAt),
            "last_message_at": .date(ticket.lastMessageAt),
            "first_response_at": .date(ticket.firstResponseAt),
            "resolved_at": .date(ticket.resolvedAt),
            "closed_at": .date(ticket.closedAt),
        ]
    }
}
