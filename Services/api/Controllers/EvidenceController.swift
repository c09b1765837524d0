import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix

/// `GET /ticket/{id}/evidencias` (the photos and files of a ticket) and `GET /attachments/{id}` (one file), for
/// whoever may read the ticket: its agents, admins, and the visitor of a web chat (their own files).
struct EvidenceController {
    let attachments: AttachmentStore
    let conversations: Conversations

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("ticket/:id/evidencias", use: list)
        router.get("attachments/:id", use: download)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> EvidenceListJSON {
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .read)
        let rows = try await attachments.list(ticketID: ticket.id)
        return EvidenceListJSON(ticketID: ticket.id, evidence: rows.map(EvidenceJSON.init))
    }

    @Sendable func download(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let text = context.parameters.get("id"), let id = Int64(text),
            let row = try await attachments.find(id)
        else { throw APIError.notFound("Archivo no encontrado") }
        do {
            _ = try await conversations.ticket(id: row.ticketID, for: context.caller, to: .read)
        } catch ConversationProblem.notFound {
            throw APIError.notFound("Archivo no encontrado")
        }
        let url = attachments.path(for: row.sha256)
        guard let data = try? Data(contentsOf: url) else { throw APIError.notFound("Archivo no encontrado") }
        return Response(
            status: .ok,
            headers: [
                .contentType: row.mime,
                .contentDisposition:
                    "\(row.mime.hasPrefix("image/") ? "inline" : "attachment"); filename=\"\(row.filename?.replacingOccurrences(of: "\"", with: "") ?? "evidencia-\(row.id)")\"",
                .cacheControl: "private, max-age=86400, immutable",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                .eTag: "\"\(row.sha256)\"",
            ],
            body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
