import Foundation
import Hummingbird
import NIOCore

/// The REST companions of the WebSocket (seed 003), under `/api/soporte/tickets/{id}/chat/`: history pages, offline
/// sync (idempotent by `client_id`), read marks, stats, and the upload a `file_upload_authorized` frame points to.
struct ChatSyncController {
    let chats: ChatStore
    let tickets: TicketStore
    let attachments: AttachmentStore
    let uploads: UploadGrants
    let live: LiveSignal

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("api/soporte/tickets/:id/chat/historial", use: history)
        router.post("api/soporte/tickets/:id/chat/sync", use: sync)
        router.post("api/soporte/tickets/:id/chat/mark-read", use: markRead)
        router.get("api/soporte/tickets/:id/chat/stats", use: stats)
        router.post("api/soporte/tickets/:id/chat/upload", use: upload)
    }

    /// The ticket in the path (number or UUID), if `caller` may see it.
    func ticket(_ context: APIRequestContext) async throws -> (id: Int64, uuid: String) {
        guard let caller = context.caller else { throw APIError.unauthorized }
        guard let key = context.parameters.get("id"), let ticket = try await chats.resolveTicket(key) else {
            throw APIError.notFound("Ticket no encontrado")
        }
        if case .guest(let own) = caller, own != ticket.id { throw APIError.notFound("Ticket no encontrado") }
        return ticket
    }

    @Sendable func history(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await self.ticket(context)
        let query = request.uri.queryParameters
        let page = try TicketController.integer(query["page"], name: "page", default: 1, range: 1...100_000)
        let size = try TicketController.integer(query["size"], name: "size", default: 50, range: 1...200)
        let (messages, total) = try await chats.historyPage(ticketID: ticket.id, page: page, size: size)
        let pages = max(1, (total + size - 1) / size)
        return try JSONValue.object([
            "ticket_id": .int(ticket.id), "mensajes": .array(messages.map(LiveFrames.message)),
            "page": .int(Int64(page)), "size": .int(Int64(size)), "total": .int(Int64(total)),
            "total_pages": .int(Int64(pages)), "has_next": .bool(page < pages),
        ]).response()
    }

    struct SyncBody: Decodable {
        struct Item: Decodable {
            let clientID: String?
            let contenido: String?
            enum CodingKeys: String, CodingKey {
                case contenido
                case clientID = "client_id"
            }
        }
        let messages: [Item]?
    }

    /// Messages written while offline; each `client_id` is stored once, however often it is synced.
    @Sendable func sync(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await self.ticket(context)
        let body = try await request.decodeJSON(SyncBody.self, limit: 1 << 20)
        guard let items = body.messages else { throw APIError.badRequest("Falta el campo 'messages'") }
        guard items.count <= 200 else { throw APIError.badRequest("Como máximo 200 mensajes por sincronización") }
        var synced: [JSONValue] = []
        var errors: [JSONValue] = []
        for item in items {
            guard let clientID = item.clientID, !clientID.isEmpty, clientID.count <= 100 else {
                errors.append(["client_id": .optional(item.clientID), "error": "Falta 'client_id'"])
                continue
            }
            let text = (item.contenido ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, text.count <= TicketController.maximumMessageLength else {
                errors.append(["client_id": .string(clientID), "error": "Mensaje vacío o demasiado largo"])
                continue
            }
            do {
                switch context.caller {
                case .agent(let agent):
                    try await chats.claimForWriting(ticketID: ticket.id, by: agent, take: false)
                    let outbound = try await tickets.addOutbound(
                        ticketID: ticket.id, text: text, agentID: agent.id, clientID: clientID)
                    synced.append([
                        "client_id": .string(clientID), "mensaje_id": .int(outbound.messageID),
                        "duplicado": .bool(outbound.repeated),
                    ])
                default:
                    let before = try await chats.customerMessage(ticketID: ticket.id, clientID: clientID)
                    let message = try await chats.addCustomerMessage(
                        ticketID: ticket.id, content: text, clientID: clientID)
                    synced.append([
                        "client_id": .string(clientID), "mensaje_id": .int(message.id),
                        "duplicado": .bool(before != nil),
                    ])
                }
            } catch ChatStore.Problem.closed, TicketStore.OutboundProblem.ticketClosed {
                errors.append([
                    "client_id": .string(clientID), "error": "No se pueden enviar mensajes en un chat cerrado",
                ])
            }
        }
        if !synced.isEmpty { live.changed(ticket.id) }
        return try JSONValue.object(["sincronizados": .array(synced), "errores": .array(errors)]).response()
    }

    struct MarkBody: Decodable {
        let messageIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey { case messageIDs = "message_ids" }
    }

    @Sendable func markRead(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await self.ticket(context)
        let body = try await request.decodeJSON(MarkBody.self)
        let ids = (body.messageIDs ?? []).compactMap { Int64($0.value) }
        let owned = try await chats.tickets(ofMessages: ids)
        guard owned.isSubset(of: [ticket.id]) else { throw APIError.badRequest("Hay mensajes de otro ticket") }
        let marked = try await chats.markRead(messages: ids)
        return try JSONValue.object(["marcados": .int(Int64(marked))]).response()
    }

    @Sendable func stats(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await self.ticket(context)
        var stats = try await chats.stats(ticketID: ticket.id)
        if case .object(var object) = stats {
            object["ticket_id"] = .int(ticket.id)
            stats = .object(object)
        }
        return try stats.response()
    }

    /// The upload a `file_upload_authorized` frame allowed (one use, 10 MB, jpg/png/pdf/doc/docx by their bytes).
    @Sendable func upload(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let key = context.parameters.get("id"), let ticket = try await chats.resolveTicket(key) else {
            throw APIError.notFound("Ticket no encontrado")
        }
        guard let token = request.uri.queryParameters["upload_token"].map(String.init),
            let caller = uploads.take(token, ticketID: ticket.id)
        else { throw APIError(status: .unauthorized, detail: "Permiso de subida no válido o vencido") }
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw APIError(status: .unsupportedMediaType, detail: "Se espera multipart/form-data con el campo 'file'")
        }
        let body = try await request.collectBody(upTo: UploadGrants.maximumSize + (64 << 10))
        guard let file = try MultipartForm(body: body, contentType: contentType).file else {
            throw APIError.badRequest("Falta el archivo (campo 'file')")
        }
        guard file.bytes.count <= UploadGrants.maximumSize else {
            throw APIError(status: .contentTooLarge, detail: "El archivo excede 10 MB")
        }
        guard let mime = MediaType.sniffDocument(file.bytes), UploadGrants.allowedTypes.contains(mime) else {
            throw APIError(
                status: .unsupportedMediaType, detail: "Tipo de archivo no admitido: jpg, png, pdf, doc o docx",
                extra: ["tipos": .array(UploadGrants.allowedTypes.map(JSONValue.string))])
        }
        let stored = try attachments.store(file.bytes, filename: file.filename, mime: mime)
        let messageID = try await tickets.addAttachmentMessage(ticketID: ticket.id, attachment: stored, caller: caller)
        live.send(LiveEvent(ticketID: ticket.id, kind: .fileUploaded, messageID: messageID))
        return try JSONValue.object([
            "mensaje_id": .int(messageID), "tipo_mime": .string(mime),
            "tamano": .int(Int64(stored.size)), "nombre": .optional(stored.filename),
        ]).response(status: .created)
    }
}
