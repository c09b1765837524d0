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
                .contentDisposition: Self.disposition(mime: row.mime, filename: row.filename, id: row.id),
                .cacheControl: "private, max-age=86400, immutable",
                .xContentTypeOptions: "nosniff",
                // Opened on its own, the file is an inert document of the api's origin: no script, no plugin.
                .contentSecurityPolicy: "default-src 'none'; sandbox",
                .eTag: "\"\(row.sha256)\"",
            ],
            body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// Pictures a browser shows by itself are `inline`; anything else (PDF, Word) is `attachment`, so opening the
    /// link downloads it instead of rendering it on the api's origin. The name goes as `filename*` (RFC 6266/8187)
    /// and as a plain-ASCII `filename` for old clients; neither can break out of the header.
    static func disposition(mime: String, filename: String?, id: Int64) -> String {
        let inline = ["image/jpeg", "image/png", "image/webp"].contains(mime.lowercased())
        let name = (filename?.split(whereSeparator: { "/\\".contains($0) }).last.map(String.init) ?? "")
            .filter { !$0.isNewline && !($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) }
        let chosen = name.trimmingCharacters(in: .whitespaces).isEmpty ? "evidencia-\(id)" : name
        let ascii = String(
            chosen.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && scalar.value >= 0x20 && !"\"\\;%".unicodeScalars.contains(scalar)
                    ? Character(scalar) : "_"
            })
        let encoded = chosen.addingPercentEncoding(withAllowedCharacters: attrChar) ?? "evidencia-\(id)"
        return "\(inline ? "inline" : "attachment"); filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    /// RFC 8187 `attr-char`: what may stand unencoded in `filename*`.
    static let attrChar = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~")
}
