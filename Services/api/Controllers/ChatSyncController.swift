import Foundation
import Hummingbird
import NIOCore

/// The REST companions of the WebSocket (seed 003), under `/api/soporte/tickets/{id}/chat/`: history pages, offline
/// sync (idempotent by `client_id`), read marks, stats, and the upload a `file_upload_authorized` frame points to.
struct ChatSyncController {
    let conversations: Conversations
    let readModels: ReadModels
    let attachments: AttachmentStore
    let uploads: UploadGrants

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("api/soporte/tickets/:id/chat/historial", use: history)
        router.post("api/soporte/tickets/:id/chat/sync", use: sync)
        router.post("api/soporte/tickets/:id/chat/mark-read", use: markRead)
        router.get("api/soporte/tickets/:id/chat/stats", use: stats)
        router.post("api/soporte/tickets/:id/chat/upload", use: upload)
    }

    @Sendable func history(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        let page = try Parameters.Page(request, sizeName: "size", defaultSize: 50, maximumSize: 200)
        let (messages, total) = try await conversations.messages.page(
            ticketID: ticket.id, page: page.number, size: page.size)
        let pages = page.pages(total: total)
        return try JSONValue.object([
            "ticket_id": .int(ticket.id), "mensajes": .array(messages.map(LiveFrames.message)),
            "page": .int(Int64(page.number)), "size": .int(Int64(page.size)), "total": .int(Int64(total)),
            "total_pages": .int(Int64(pages)), "has_next": .bool(page.number < pages),
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

    /// Messages written while offline; each `client_id` is stored once, however often it is synced. Syncing never
    /// takes a chat: an agent syncs only where they may already write.
    @Sendable func sync(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        guard let caller = context.caller else { throw APIError.unauthorized }
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
            guard !text.isEmpty, text.count <= Parameters.maximumMessageLength else {
                errors.append(["client_id": .string(clientID), "error": "Mensaje vacío o demasiado largo"])
                continue
            }
            do {
                let posted = try await conversations.post(
                    text, clientID: clientID, by: caller, in: ticket.id, take: false)
                synced.append([
                    "client_id": .string(clientID), "mensaje_id": .int(posted.messageID),
                    "duplicado": .bool(posted.repeated),
                ])
            } catch let problem as ConversationProblem {
                errors.append(["client_id": .string(clientID), "error": .string(problem.liveError.message)])
            }
        }
        return try JSONValue.object(["sincronizados": .array(synced), "errores": .array(errors)]).response()
    }

    struct MarkBody: Decodable {
        let messageIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey { case messageIDs = "message_ids" }
    }

    @Sendable func markRead(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        guard let caller = context.caller else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(MarkBody.self)
        guard let ids = body.messageIDs else { throw APIError.badRequest("Falta el campo 'message_ids'") }
        guard ids.count <= 1000 else { throw APIError.badRequest("Como máximo 1000 mensajes por petición") }
        let marked = try await conversations.markRead(
            messages: ids.compactMap { Int64($0.value) }, by: caller, within: ticket)
        return try JSONValue.object(["marcados": .int(Int64(marked))]).response()
    }

    @Sendable func stats(_ request: Request, context: APIRequestContext) async throws -> Response {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        let stats = try await readModels.stats(ticketID: ticket.id)
        return try JSONValue.object([
            "ticket_id": .int(ticket.id),
            "total_mensajes": .int(Int64(stats.total)),
            "por_rol": .object(stats.byRole.mapValues { .int(Int64($0)) }),
            "primera_respuesta_segundos": .optional(stats.firstResponseSeconds),
            "tiempo_respuesta_promedio_segundos": .optional(stats.averageResponseSeconds),
            "respuestas": .int(Int64(stats.responses)),
        ]).response()
    }

    /// The upload a `file_upload_authorized` frame allowed (one use, 10 MB, jpg/png/pdf/doc/docx by their bytes).
    /// The grant's holder must still be allowed to upload to the ticket when the file arrives.
    @Sendable func upload(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let ticket = try await conversations.tickets.facts(key: try Parameters.ticketKey(context)) else {
            throw ConversationProblem.notFound
        }
        guard let token = request.uri.queryParameters["upload_token"].map(String.init),
            let caller = uploads.take(token, ticketID: ticket.id)
        else { throw APIError(status: .unauthorized, detail: "Permiso de subida no válido o vencido") }
        try TicketAccess.check(.upload, caller: caller, ticket: ticket)
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
        let messageID = try await conversations.attach(stored, by: caller, in: ticket.id)
        return try JSONValue.object([
            "mensaje_id": .int(messageID), "tipo_mime": .string(mime),
            "tamano": .int(Int64(stored.size)), "nombre": .optional(stored.filename),
        ]).response(status: .created)
    }
}
