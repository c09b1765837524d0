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

    @Sendable func history(_ request: Request, context: APIRequestContext) async throws -> HistoryPageJSON {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        let page = try Parameters.Page(request, sizeName: "size", defaultSize: 50, maximumSize: 200)
        let (messages, total) = try await conversations.messages.page(
            ticketID: ticket.id, page: page.number, size: page.size)
        return HistoryPageJSON(ticketID: ticket.id, messages: messages, page: page, total: total)
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
    @Sendable func sync(_ request: Request, context: APIRequestContext) async throws -> SyncResultJSON {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        guard let caller = context.caller else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(SyncBody.self, limit: 1 << 20)
        guard let items = body.messages else { throw APIError.badRequest("Falta el campo 'messages'") }
        guard items.count <= 200 else { throw APIError.badRequest("Como máximo 200 mensajes por sincronización") }
        var result = SyncResultJSON()
        for item in items {
            guard let clientID = item.clientID, !clientID.isEmpty, clientID.count <= 100 else {
                result.errors.append(.init(clientID: item.clientID, error: "Falta 'client_id'"))
                continue
            }
            let text = (item.contenido ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, text.count <= Parameters.maximumMessageLength else {
                result.errors.append(.init(clientID: clientID, error: "Mensaje vacío o demasiado largo"))
                continue
            }
            do {
                let posted = try await conversations.post(
                    text, clientID: clientID, by: caller, in: ticket.id, take: false)
                result.synced.append(.init(clientID: clientID, messageID: posted.messageID, repeated: posted.repeated))
            } catch let problem as ConversationProblem {
                result.errors.append(.init(clientID: clientID, error: problem.liveError.message))
            }
        }
        return result
    }

    struct MarkBody: Decodable {
        let messageIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey { case messageIDs = "message_ids" }
    }

    @Sendable func markRead(_ request: Request, context: APIRequestContext) async throws -> MarkedReadJSON {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        guard let caller = context.caller else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(MarkBody.self)
        guard let ids = body.messageIDs else { throw APIError.badRequest("Falta el campo 'message_ids'") }
        guard ids.count <= 1000 else { throw APIError.badRequest("Como máximo 1000 mensajes por petición") }
        let marked = try await conversations.markRead(
            messages: ids.compactMap { Int64($0.value) }, by: caller, within: ticket)
        return MarkedReadJSON(marked: marked)
    }

    @Sendable func stats(_ request: Request, context: APIRequestContext) async throws -> ConversationStatsJSON {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        return ConversationStatsJSON(ticketID: ticket.id, try await readModels.stats(ticketID: ticket.id))
    }

    /// The upload a `file_upload_authorized` frame allowed (one use, 10 MB, jpg/png/pdf/doc/docx by their bytes).
    /// The grant's holder must still be allowed to upload to the ticket when the file arrives.
    @Sendable func upload(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<UploadJSON> {
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
        return EditedResponse(
            status: .created,
            response: UploadJSON(messageID: messageID, mime: mime, size: stored.size, name: stored.filename))
    }
}
