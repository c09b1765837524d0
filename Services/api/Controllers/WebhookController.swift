import Foundation
import Hummingbird
import Logging
import NIOCore

/// `POST /webhook`: messages from the WhatsApp bridge (seed 004), `{"remitente", "contenido"}` with optional
/// `nombre`, `id_mensaje` and `timestamp`.
struct WebhookController {
    let conversations: Conversations
    let attachments: AttachmentStore
    let token: String?
    /// Whether the intake assistant runs on new WhatsApp tickets.
    let intake: Bool
    /// Text messages: 1 MB. A photo may be 16 MB, which is about 22 MB as base64 JSON.
    static let bodyLimit = 1 << 20
    static let imageBodyLimit = 23 << 20

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("webhook", use: receive)
    }

    struct Payload: Decodable {
        var remitente: String
        var contenido: String?
        var nombre: String?
        var idMensaje: FlexibleString?
        var timestamp: FlexibleTimestamp?
        var tipo: String?
        var imagenBase64: String?
        var mimetype: String?
        var caption: String?
        var filename: String?

        enum CodingKeys: String, CodingKey {
            case remitente, contenido, nombre, timestamp, tipo, mimetype, caption, filename
            case idMensaje = "id_mensaje"
            case imagenBase64 = "imagen_base64"
        }

        var isImage: Bool {
            ["imagen", "image", "foto", "documento", "document", "archivo"].contains(tipo?.lowercased() ?? "")
        }
    }

    @Sendable func receive(_ request: Request, context: APIRequestContext) async throws -> WebhookReceiptJSON {
        guard let token, let presented = request.authorizationToken, constantTimeEquals(presented, token) else {
            throw APIError(
                status: .unauthorized, detail: "Token del puente no válido", headers: [.wwwAuthenticate: "Bearer"])
        }
        let (payload, imageBytes) = try await read(request)
        let sender: SenderAddress
        do {
            sender = try SenderAddress(payload.remitente)
        } catch .empty {
            throw APIError.badRequest("El campo 'remitente' está vacío")
        } catch {
            throw APIError.badRequest(
                "El remitente '\(payload.remitente.prefix(64))' no es un número de WhatsApp válido")
        }
        var content: String
        var attachment: StoredAttachment?
        if let imageBytes {
            attachment = try store(imageBytes, filename: payload.filename)
            content = (payload.caption ?? payload.contenido)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if content.isEmpty { content = attachment?.messageType == "file" ? "📎 Archivo" : "📷 Foto" }
        } else {
            guard let text = payload.contenido else { throw APIError.badRequest("Falta el campo 'contenido'") }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw APIError.badRequest("El campo 'contenido' está vacío")
            }
            guard text.count <= Parameters.maximumMessageLength else {
                throw APIError.badRequest("El campo 'contenido' excede \(Parameters.maximumMessageLength) caracteres")
            }
            content = text
        }
        let name = payload.nombre?.trimmingCharacters(in: .whitespacesAndNewlines).prefix(120)
        let result = try await conversations.receive(
            Conversations.Inbound(
                sender: sender, content: content, name: name.map(String.init),
                externalID: payload.idMensaje?.value.prefix(200).description,
                externalTimestamp: payload.timestamp?.date,
                attachment: attachment
            ), intake: intake)
        return WebhookReceiptJSON(ticketID: result.ticketID, duplicate: result.duplicate)
    }
}

extension WebhookController {
    /// The payload from JSON (text, or a photo as base64) or from `multipart/form-data` (a photo as a file part).
    func read(_ request: Request) async throws -> (Payload, [UInt8]?) {
        let contentType = request.headers[.contentType] ?? ""
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            let body = try await request.collectBody(upTo: AttachmentStore.maximumSize + (1 << 20))
            let form = try MultipartForm(body: body, contentType: contentType)
            guard let sender = form.fields["remitente"] else { throw APIError.badRequest("Falta el campo 'remitente'") }
            let file = form.file
            let payload = Payload(
                remitente: sender, contenido: form.fields["contenido"], nombre: form.fields["nombre"],
                idMensaje: form.fields["id_mensaje"].map(FlexibleString.init(value:)),
                timestamp: form.fields["timestamp"].flatMap(FlexibleTimestamp.init(text:)),
                tipo: file == nil ? nil : "imagen", imagenBase64: nil, mimetype: file?.contentType,
                caption: form.fields["caption"], filename: file?.filename)
            return (payload, file?.bytes)
        }
        let body = try await request.collectBody(upTo: Self.imageBodyLimit)
        let payload = try JSONDecoder().decode(Payload.self, from: body)
        guard payload.isImage else {
            guard body.readableBytes <= Self.bodyLimit else { throw APIError.tooLarge(Self.bodyLimit) }
            return (payload, nil)
        }
        guard var encoded = payload.imagenBase64, !encoded.isEmpty else {
            throw APIError.badRequest("Falta el campo 'imagen_base64'")
        }
        if encoded.hasPrefix("data:"), let comma = encoded.firstIndex(of: ",") {
            encoded = String(encoded[encoded.index(after: comma)...])
        }
        guard encoded.utf8.count / 4 * 3 <= AttachmentStore.maximumSize + 3 else {
            throw APIError(status: .contentTooLarge, detail: "La imagen excede el límite de 16 MB")
        }
        guard let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
            throw APIError.badRequest("El campo 'imagen_base64' no es base64 válido")
        }
        return (payload, [UInt8](bytes))
    }

    func store(_ bytes: [UInt8], filename: String?) throws -> StoredAttachment {
        do {
            return try attachments.store(bytes, filename: filename)
        } catch AttachmentStore.Problem.tooLarge {
            throw APIError(status: .contentTooLarge, detail: "La imagen excede el límite de 16 MB")
        } catch AttachmentStore.Problem.unsupportedType {
            throw APIError(
                status: .unsupportedMediaType,
                detail: "Tipo de archivo no admitido: se aceptan JPEG, PNG, WebP, HEIC y PDF",
                extra: ["tipos": .array(MediaType.allowed.map(JSONValue.string))])
        } catch AttachmentStore.Problem.empty {
            throw APIError.badRequest("El archivo está vacío")
        }
    }
}
