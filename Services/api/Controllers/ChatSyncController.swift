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
            ticketID: ticket.id, page: page.number, size: page.size, for: Audience(context.caller))
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
            guard let text = try? TextRules.message(item.contenido ?? "") else {
                result.errors.append(.init(clientID: clientID, error: "Mensaje vacío o demasiado largo"))
                continue
            }
            do {
                let posted = try await conversations.post(
                    text, clientID: clientID, by: caller, in: ticket.id, take: false,
                    address: context.clientAddress.rateLimitKey)
                result.synced.append(.init(clientID: clientID, messageID: posted.messageID, repeated: posted.repeated))
            } catch ConversationProblem.tooManyMessages(let seconds) {
                // Every message counts: the rest waits, and the answer says what was stored (resending is safe).
                throw Self.limited(result, retryAfter: seconds)
            } catch let problem as ConversationProblem {
                result.errors.append(.init(clientID: clientID, error: problem.liveError.message))
            }
        }
        return result
    }

    /// The 429 of a sync cut short by the visitor's message rate, with what was stored before it.
    static func limited(_ result: SyncResultJSON, retryAfter seconds: Int) -> APIError {
        var error = ConversationProblem.tooManyMessages(retryAfter: seconds).apiError
        error.extra["sincronizados"] = .array(
            result.synced.map {
                .object([
                    "client_id": .string($0.clientID), "mensaje_id": .int($0.messageID),
                    "duplicado": .bool($0.repeated),
                ])
            })
        error.extra["errores"] = .array(
            result.errors.map {
                .object(["client_id": $0.clientID.map(JSONValue.string) ?? .null, "error": .string($0.error)])
            })
        return error
    }

    struct MarkBody: Decodable {
        let messageIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey { case messageIDs = "message_ids" }
    }

    @Sendable func markRead(_ request: Request, context: APIRequestContext) async throws -> MarkedReadJSON {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        guard let caller = context.caller else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(MarkBody.self)
        let ids = try Parameters.numericIDs(body.messageIDs, field: "message_ids")
        let marked = try await conversations.markRead(messages: ids, by: caller, within: ticket)
        return MarkedReadJSON(marked: marked)
    }

    @Sendable func stats(_ request: Request, context: APIRequestContext) async throws -> ConversationStatsJSON {
        let ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: context.caller, to: .read)
        return ConversationStatsJSON(ticketID: ticket.id, try await readModels.stats(ticketID: ticket.id))
    }

    /// The upload a `file_upload_authorized` frame allowed (one use, 16 MB, jpg/png/pdf/doc/docx by their bytes).
    /// The grant's holder must still be allowed to upload to the ticket when the file arrives. Refusals that are
    /// worth retrying (too many uploads at once 429, the ticket's quota 429/413, a disk below its watermark 507)
    /// come before the grant is spent; nothing is written for a refused file.
    @Sendable func upload(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<UploadJSON> {
        guard let ticket = try await conversations.tickets.facts(key: try Parameters.ticketKey(context)) else {
            throw ConversationProblem.notFound
        }
        let invalidGrant = APIError(status: .unauthorized, detail: "Permiso de subida no válido o vencido")
        // Granted on this instance's socket, or on another instance's (then only the database knows it).
        let grants = UploadGrantStore(conversations)
        guard let token = request.uri.queryParameters["upload_token"].map(String.init) else { throw invalidGrant }
        var holder = uploads.holder(token, ticketID: ticket.id)
        if holder == nil { holder = try await grants.holder(token, ticketID: ticket.id) }
        guard let holder else { throw invalidGrant }
        try TicketAccess.check(.upload, caller: holder, ticket: ticket)
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw APIError(status: .unsupportedMediaType, detail: "Se espera multipart/form-data con el campo 'file'")
        }
        if let seconds = uploads.beginUpload() {
            throw APIError(
                status: .tooManyRequests, detail: "Hay demasiadas subidas en curso; intenta en unos segundos",
                headers: [.retryAfter: String(seconds)])
        }
        defer { uploads.endUpload() }
        try Self.storageProblem { try attachments.checkFreeSpace() }
        let limits = uploads.limits
        try Conversations.checkQuota(try await attachments.usage(ticketID: ticket.id), adding: 1, limits: limits)
        guard let caller = try await Self.take(token, ticketID: ticket.id, uploads: uploads, grants: grants) else {
            throw invalidGrant
        }
        let body = try await request.collectBody(upTo: UploadGrants.maximumSize + (64 << 10))
        let form = try MultipartForm(body: body, contentType: contentType)
        guard let file = form.file else {
            throw APIError.badRequest("Falta el archivo (campo 'file')")
        }
        guard file.bytes.count <= UploadGrants.maximumSize else {
            throw APIError(status: .contentTooLarge, detail: "El archivo excede 16 MB")
        }
        guard let mime = MediaType.sniffDocument(file.bytes), UploadGrants.allowedTypes.contains(mime) else {
            throw APIError(
                status: .unsupportedMediaType, detail: "Tipo de archivo no admitido: jpg, png, pdf, doc o docx",
                extra: ["tipos": .array(UploadGrants.allowedTypes.map(JSONValue.string))])
        }
        try Conversations.checkQuota(
            try await attachments.usage(ticketID: ticket.id), adding: file.bytes.count, limits: limits)
        let stored = try Self.storageProblem {
            try attachments.store(file.bytes, filename: file.filename, mime: mime)
        }
        let messageID: Int64
        do {
            messageID = try await conversations.attach(
                stored, bytes: Data(file.bytes), caption: try Self.caption(form), by: caller, in: ticket.id,
                limits: limits)
        } catch {
            // Refused after the bytes were written (a concurrent upload took the last of the quota, the chat
            // closed): the file goes unless another attachment shares its content.
            try? await attachments.discard(stored)
            throw error
        }
        return EditedResponse(
            status: .created,
            response: UploadJSON(messageID: messageID, mime: mime, size: stored.size, name: stored.filename))
    }

    /// Uses a grant once: from this instance's memory when it gave it and kept it to itself, else from the database
    /// (first instance to take it wins; the memory copy only counted it against its socket).
    static func take(_ token: String, ticketID: Int64, uploads: UploadGrants, grants: UploadGrantStore) async throws
        -> Caller?
    {
        let local = uploads.takeGrant(token, ticketID: ticketID)
        if let local, !local.shared { return local.caller }
        guard let stored = try await grants.take(token, ticketID: ticketID) else { return nil }
        return local?.caller ?? stored
    }

    /// The optional text sent with a file (`caption`, or `mensaje`), checked like any message.
    static func caption(_ form: MultipartForm) throws -> String? {
        guard let text = form.fields["caption"] ?? form.fields["mensaje"],
            !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { return nil }
        do {
            return try TextRules.message(text)
        } catch {
            throw APIError.badRequest(error.messageError().detail)
        }
    }

    /// Runs `body`, answering 507 when the attachment store is short of space.
    static func storageProblem<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch AttachmentStore.Problem.insufficientStorage(let free) {
            throw FreeDiskGuard.Insufficient(freeBytes: free).apiError
        }
    }
}
