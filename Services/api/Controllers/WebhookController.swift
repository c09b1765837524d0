import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MostradorContracts
import NIOCore

/// `POST /webhook`: messages from the WhatsApp bridge (seed 004), `{"remitente", "contenido"}` with optional
/// `nombre`, `id_mensaje` and `timestamp`.
struct WebhookController {
    let conversations: Conversations
    let attachments: AttachmentStore
    let token: String?
    /// Whether the intake assistant runs on new WhatsApp tickets.
    let intake: Bool
    /// When set, every webhook also carries a valid `X-Mostrador-Signature` (see `WebhookSignature`).
    var signature: WebhookSignature? = nil
    /// New tickets one sender may open per hour (0: no cap); see `NewTicketCap`.
    var newTicketsPerSenderHour = 0
    var clock: WallClock = .system
    /// Text messages: 1 MB. A photo may be 16 MB, which is about 22 MB as base64 JSON.
    static let bodyLimit = 1 << 20
    static let imageBodyLimit = 23 << 20

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("webhook", use: receive)
    }

    @Sendable func receive(_ request: Request, context: APIRequestContext) async throws -> WebhookReceiptJSON {
        guard let token, let presented = request.authorizationToken, constantTimeEquals(presented, token) else {
            throw APIError(
                status: .unauthorized, detail: "Token del puente no válido", headers: [.wwwAuthenticate: "Bearer"])
        }
        // The body is read (bounded) before anything else, so the signature covers exactly these bytes.
        let contentType = request.headers[.contentType] ?? ""
        let isMultipart = contentType.lowercased().hasPrefix("multipart/form-data")
        let body = try await request.collectBody(
            upTo: isMultipart ? AttachmentStore.maximumSize + (1 << 20) : Self.imageBodyLimit)
        if let signature {
            do {
                try signature.verify(
                    request.headers[HTTPField.Name(WebhookSignature.header)!], body: body.readableBytesView,
                    now: clock.now())
            } catch {
                throw APIError(status: .unauthorized, detail: "\(error)", headers: [.wwwAuthenticate: "Bearer"])
            }
        }
        if !isMultipart, body.readableBytes <= Self.bodyLimit, body.contains(Array("\"estado\"".utf8)),
            let receipt = try? JSONDecoder().decode(SeedBridgeReceipt.self, from: body), receipt.isReceipt
        {
            return try await apply(receipt)
        }
        let (payload, imageBytes) = try read(body, contentType: contentType, isMultipart: isMultipart)
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
            // The caption is checked before the file is written, so a refused one leaves nothing behind.
            let caption = try (payload.caption ?? payload.contenido).map {
                try Self.text($0, field: "caption", optional: true)
            }
            attachment = try store(imageBytes, filename: payload.filename)
            content = caption ?? ""
            if content.isEmpty { content = attachment?.messageType == "file" ? "📎 Archivo" : "📷 Foto" }
        } else {
            guard let text = payload.contenido else { throw APIError.badRequest("Falta el campo 'contenido'") }
            content = try Self.text(text, field: "contenido")
        }
        // The push name is the customer's own say: stripped of control and direction characters, never refused.
        let name = payload.nombre.flatMap(TextRules.cleanedName)
        // The bridge vouches for the other address as for the sender (it is the same WhatsApp account).
        let alias = payload.remitenteAlt.flatMap { try? SenderAddress($0) }.flatMap { $0 == sender ? nil : $0 }
        let inbound = Conversations.Inbound(
            sender: sender, alias: alias, content: content, name: name,
            externalID: payload.idMensaje?.value.prefix(200).description,
            externalTimestamp: payload.timestamp?.date,
            replyTo: payload.enRespuestaA.map { String($0.value.prefix(200)) },
            attachment: attachment,
            newTicketCap: newTicketsPerSenderHour > 0
                ? NewTicketCap(limit: newTicketsPerSenderHour, since: clock.now().addingTimeInterval(-3600)) : nil)
        let result: Conversations.Received
        do {
            result = try await conversations.receive(inbound, intake: intake)
        } catch let exceeded as NewTicketCap.Exceeded {
            // The photo written for it goes too (unless another message shares its content).
            if let attachment { try? await attachments.discard(attachment) }
            // A 200, not a 429: a bridge that retries every non-2xx would retry this forever.
            context.logger.warning(
                "webhook sender over its new-ticket cap; message not stored",
                metadata: ["sender": "\(sender.display)", "limit": "\(exceeded.limit)"])
            return WebhookReceiptJSON(
                ignored: "rate_limited",
                detail: "El remitente abrió \(exceeded.limit) tickets en la última hora; mensaje no guardado")
        } catch {
            if let attachment { try? await attachments.discard(attachment) }
            throw error
        }
        return WebhookReceiptJSON(ticketID: result.ticketID, duplicate: result.duplicate)
    }
}

extension WebhookController {
    /// A delivery receipt: moves the message the bridge sent under `id_mensaje` (never backwards).
    func apply(_ receipt: SeedBridgeReceipt) async throws -> WebhookReceiptJSON {
        guard let id = receipt.idMensaje?.value, !id.isEmpty else {
            throw APIError.badRequest("Falta el campo 'id_mensaje' del estado")
        }
        guard let status = receipt.status else {
            throw APIError.badRequest(
                "El campo 'estado' debe ser sent, delivered, read o failed, no '\((receipt.estado ?? "").prefix(32))'")
        }
        let reason = receipt.detalle.map { String($0.prefix(300)) } ?? "WhatsApp no pudo entregar el mensaje"
        try await conversations.applyChannelStatus(
            ChannelStatus(
                channel: WhatsAppChannel.seedBridge.rawValue, providerID: String(id.prefix(200)), status: status,
                reason: status == .failed ? reason : nil, at: receipt.timestamp?.date ?? clock.now()))
        return WebhookReceiptJSON(deliveryStatus: status)
    }

    /// The payload from JSON (text, or a photo as base64) or from `multipart/form-data` (a photo as a file part).
    func read(_ body: ByteBuffer, contentType: String, isMultipart: Bool) throws -> (SeedBridgePayload, [UInt8]?) {
        if isMultipart {
            let form = try MultipartForm(body: body, contentType: contentType)
            guard let sender = form.fields["remitente"] else { throw APIError.badRequest("Falta el campo 'remitente'") }
            let file = form.file
            let payload = SeedBridgePayload(
                remitente: sender, remitenteAlt: form.fields["remitente_alt"], contenido: form.fields["contenido"],
                nombre: form.fields["nombre"],
                idMensaje: form.fields["id_mensaje"].map(FlexibleString.init(value:)),
                timestamp: form.fields["timestamp"].map(FlexibleTimestamp.init(text:)),
                tipo: file == nil ? nil : "imagen", imagenBase64: nil, mimetype: file?.contentType,
                caption: form.fields["caption"], filename: file?.filename)
            return (payload, file?.bytes)
        }
        // Only a photo may exceed the text limit: a large body without its field is refused before decoding it.
        if body.readableBytes > Self.bodyLimit,
            !body.contains(Array("\"imagen_base64\"".utf8))
        {
            throw APIError.tooLarge(Self.bodyLimit)
        }
        let payload = try JSONDecoder().decode(SeedBridgePayload.self, from: body)
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

    /// A message text under `TextRules`: 400 when empty (unless `optional`), 413 when over the limit — never cut.
    static func text(_ text: String, field: String, optional: Bool = false) throws -> String {
        do {
            return try TextRules.message(text)
        } catch .empty {
            if optional { return "" }
            throw APIError.badRequest("El campo '\(field)' está vacío")
        } catch .forbiddenCharacters {
            throw TextRules.Problem.forbiddenCharacters.messageError(field: field)
        } catch {
            throw APIError(
                status: .contentTooLarge,
                detail: "El campo '\(field)' excede \(TextRules.maximumMessageLength) caracteres",
                extra: ["limite": .int(Int64(TextRules.maximumMessageLength))])
        }
    }

    func store(_ bytes: [UInt8], filename: String?) throws -> StoredAttachment {
        do {
            return try attachments.store(bytes, filename: filename)
        } catch AttachmentStore.Problem.insufficientStorage(let free) {
            throw FreeDiskGuard.Insufficient(freeBytes: free).apiError
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

extension SeedBridgeReceipt {
    /// `sent`, `delivered`, `read` (or `played`), `failed`, in English or Spanish.
    var status: DeliveryStatus? {
        switch estado?.lowercased() {
        case "sent", "enviado": .sent
        case "delivered", "entregado": .delivered
        case "read", "leido", "leído", "played", "reproducido": .read
        case "failed", "fallido", "error": .failed
        default: nil
        }
    }
}
