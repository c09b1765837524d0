import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MostradorContracts
import NIOCore

/// `/webhooks/whatsapp-cloud`: Meta's WhatsApp Cloud API (`../shared/channels/meta-cloud/NOTES.md`).
///
/// - `GET` is the subscription handshake: `hub.mode=subscribe` and `hub.verify_token` equal to
///   `MOSTRADOR_CLOUD_VERIFY_TOKEN` → 200 with `hub.challenge` as the body; anything else → 403.
/// - `POST` carries messages and statuses. `X-Hub-Signature-256: sha256=<hex>` (HMAC-SHA256 of the raw body with
///   `MOSTRADOR_CLOUD_APP_SECRET`) is checked in constant time before anything is parsed: 401 otherwise. Messages
///   open or continue the customer's ticket exactly like the seed bridge's (`wamid` de-duplicates Meta's retries);
///   statuses move the technician's message to delivered, read or failed. The answer is a fast 200; a 500 (the
///   database failed) makes Meta deliver the batch again, and nothing is stored twice.
struct CloudWebhookController {
    let receiver: ChannelReceiver
    /// Downloads photos and documents (needs `MOSTRADOR_CLOUD_TOKEN`); without it they arrive as a line of text.
    let media: CloudMedia?
    let verifyToken: String?
    let appSecret: String?
    /// Meta's batches are small (a few KB); anything above this is not Meta.
    static let bodyLimit = 1 << 20
    static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")!

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("webhooks/whatsapp-cloud", use: verify)
        router.post("webhooks/whatsapp-cloud", use: receive)
    }

    @Sendable func verify(_ request: Request, context: APIRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let verifyToken, query["hub.mode"].map(String.init) == "subscribe",
            let presented = query["hub.verify_token"].map(String.init),
            constantTimeEquals(presented, verifyToken),
            let challenge = query["hub.challenge"].map(String.init),
            Self.isPlainChallenge(challenge)
        else {
            throw APIError(status: .forbidden, detail: "Verificación del webhook de WhatsApp Cloud rechazada")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: challenge)))
    }

    @Sendable func receive(_ request: Request, context: APIRequestContext) async throws -> GatewayReceiptJSON {
        let body = try await request.collectBody(upTo: Self.bodyLimit)
        guard let appSecret else {
            throw APIError(
                status: .unauthorized,
                detail: "El webhook de WhatsApp Cloud no está configurado (MOSTRADOR_CLOUD_APP_SECRET)")
        }
        guard Self.isSigned(body.readableBytesView, header: request.headers[Self.signatureHeader], secret: appSecret)
        else {
            throw APIError(status: .unauthorized, detail: "Firma X-Hub-Signature-256 ausente o no válida")
        }
        let payload: CloudWebhookPayload
        do {
            payload = try CloudWebhookPayload.decoder.decode(CloudWebhookPayload.self, from: body)
        } catch {
            throw APIError.badRequest("El cuerpo no es una notificación de WhatsApp Cloud: \(error)")
        }
        var receipt = GatewayReceiptJSON()
        guard payload.object == "whatsapp_business_account" else {
            receipt.ignored = payload.object.map { String($0.prefix(64)) } ?? "sin object"
            return receipt
        }
        for value in payload.entry ?? [] {
            for change in value.changes ?? [] where change.field == "messages" {
                guard let value = change.value else { continue }
                for message in value.messages ?? [] {
                    if try await receive(message, contacts: value.contacts ?? [], logger: context.logger) {
                        receipt.messages += 1
                    }
                }
                for status in value.statuses ?? [] {
                    guard let update = Self.channelStatus(status) else { continue }
                    try await receiver.conversations.applyChannelStatus(update)
                    receipt.statuses += 1
                }
            }
        }
        return receipt
    }

    /// The header Meta sends with `body` (for the tests and the docs).
    static func signature(for body: some DataProtocol, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Meta's challenge is a number; anything echoed back stays short and plain (no markup, no header tricks).
    static func isPlainChallenge(_ text: String) -> Bool {
        (1...256).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                    true
                default: false
                }
            }
    }

    /// `sha256=<hex>` over exactly the bytes received, compared in constant time.
    static func isSigned(_ body: some Collection<UInt8>, header: String?, secret: String) -> Bool {
        guard let header, header.hasPrefix("sha256="),
            let code = WebhookSignature.hexBytes(String(header.dropFirst("sha256=".count))),
            code.count == SHA256.byteCount
        else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            code, authenticating: Data(body), using: SymmetricKey(data: Data(secret.utf8)))
    }

    /// Stores one customer message; false when there was nothing to store (a removed reaction, a system notice,
    /// a sender that is no WhatsApp address, a sender over their new-ticket cap).
    func receive(_ message: CloudWebhookPayload.Message, contacts: [CloudWebhookPayload.Contact], logger: Logger)
        async throws -> Bool
    {
        if message.type == "system" {
            // `system_user_changed_number`: `from` is the old number, `system.wa_id` the new one.
            guard message.system?.type == "user_changed_number",
                let old = message.from.flatMap({ try? SenderAddress($0) }),
                let new = message.system?.waId.flatMap({ try? SenderAddress($0) }), new != old
            else { return false }
            return try await receiver.conversations.numberChanged(
                from: old, to: new, channel: WhatsAppChannel.cloudAPI.rawValue)
        }
        guard var content = Self.content(of: message) else { return false }
        let attachment = await download(message, logger: logger)
        if let attachment {
            content =
                ChannelReceiver.text((message.image ?? message.document)?.caption)
                ?? ChannelReceiver.fileLabel(attachment)
        }
        let contact =
            contacts.first {
                ($0.waId != nil && $0.waId == message.from) || ($0.userId != nil && $0.userId == message.fromUserId)
            }
            ?? (contacts.count == 1 ? contacts.first : nil)
        let phone = message.from.flatMap { try? SenderAddress($0) }
        // The BSUID is on the message (`from_user_id`) or only on its contact (`user_id`), depending on the version.
        let bsuid = (message.fromUserId ?? contact?.userId).flatMap { try? SenderAddress($0) }
            .flatMap { $0.kind == .bsuid ? $0 : nil }
        guard let sender = phone ?? bsuid else {
            logger.warning("WhatsApp Cloud message without a usable sender", metadata: ["wamid": "\(message.id)"])
            await receiver.discard(attachment)
            return false
        }
        let inbound = Conversations.Inbound(
            sender: sender, alias: phone == nil ? nil : bsuid, channel: WhatsAppChannel.cloudAPI.rawValue,
            content: content, name: contact?.profile?.name.flatMap(TextRules.cleanedName),
            externalID: String(message.id.prefix(200)),
            externalTimestamp: message.timestamp.flatMap(Double.init).map(Date.init(timeIntervalSince1970:)),
            replyTo: message.context?.id.map { String($0.prefix(200)) },
            attachment: attachment)
        return try await receiver.receive(inbound, logger: logger)
    }

    /// The photo or document of a message, downloaded and stored; nil when there is none, no token to fetch it
    /// with, or it could not be had (then the message keeps its line of text, and the log says why).
    func download(_ message: CloudWebhookPayload.Message, logger: Logger) async -> StoredAttachment? {
        let file = message.type == "image" ? message.image : message.type == "document" ? message.document : nil
        guard let media, let id = file?.id else { return nil }
        let context: Logger.Metadata = ["wamid": "\(message.id)", "media_id": "\(id.prefix(64))"]
        do {
            return receiver.store(
                try await media.download(id), filename: file?.filename, logger: logger, context: context)
        } catch {
            logger.warning(
                "could not take a WhatsApp Cloud file; kept as text",
                metadata: context.merging(["error": "\(error)"]) { $1 })
            return nil
        }
    }

    /// What the technician reads for a message: its text, or what it was when it carries no text the api keeps
    /// (media arrive as a mention with their caption; reactions, buttons, locations as a line of text).
    static func content(of message: CloudWebhookPayload.Message) -> String? {
        let text: String?
        switch message.type {
        case "text":
            text = message.text?.body
        case "image":
            text = ChannelReceiver.labelled("📷 Foto", message.image?.caption)
        case "document":
            text = ChannelReceiver.labelled(
                "📎 Documento" + (message.document?.filename.map { " \($0)" } ?? ""), message.document?.caption)
        case "audio":
            text = "🎤 Audio"
        case "video":
            text = ChannelReceiver.labelled("🎬 Video", message.video?.caption)
        case "sticker":
            text = "Sticker"
        case "reaction":
            // An empty emoji takes a reaction back: nothing to keep.
            guard let emoji = message.reaction?.emoji, !emoji.isEmpty else { return nil }
            text = "Reaccionó con \(emoji)"
        case "button":
            text = message.button?.text
        case "interactive":
            text = message.interactive?.buttonReply?.title ?? message.interactive?.listReply?.title
        case "location":
            guard let location = message.location else { return nil }
            let place = [location.name, location.address].compactMap { $0 }.joined(separator: ", ")
            text =
                "📍 Ubicación: \(location.latitude ?? 0), \(location.longitude ?? 0)"
                + (place.isEmpty ? "" : " (\(place))")
        case "system":
            return nil
        default:
            let code = message.errors?.first?.code.map { " (código \($0))" } ?? ""
            text = "[Mensaje de WhatsApp no compatible: \(message.type.prefix(32))\(code)]"
        }
        return ChannelReceiver.text(text)
    }

    /// A status the technician's message can show; nil for ones that say nothing new (`deleted`, unknown).
    static func channelStatus(_ status: CloudWebhookPayload.Status) -> ChannelStatus? {
        let mapped: DeliveryStatus
        switch status.status {
        case "sent": mapped = .sent
        case "delivered": mapped = .delivered
        case "read", "played": mapped = .read
        case "failed": mapped = .failed
        default: return nil
        }
        let reason = status.errors?.first.map { error in
            var text = error.code.map { "(#\($0)) " } ?? ""
            text += error.title ?? error.message ?? "error de WhatsApp"
            if let details = error.errorData?.details { text += ": \(details)" }
            if error.code == 131047 { text = "fuera de la ventana de 24 h: \(text)" }
            return String(text.prefix(500))
        }
        return ChannelStatus(
            channel: WhatsAppChannel.cloudAPI.rawValue, providerID: String(status.id.prefix(200)), status: mapped,
            reason: mapped == .failed ? reason ?? "WhatsApp no pudo entregar el mensaje" : nil,
            at: status.timestamp.flatMap(Double.init).map(Date.init(timeIntervalSince1970:)) ?? Date())
    }
}

/// The Cloud API's webhook envelope, only the fields Mostrador reads (`NOTES.md` §1–4).
struct CloudWebhookPayload: Decodable, Sendable {
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    var object: String?
    var entry: [Entry]?

    struct Entry: Decodable, Sendable {
        var changes: [Change]?
    }

    struct Change: Decodable, Sendable {
        var field: String?
        var value: Value?
    }

    struct Value: Decodable, Sendable {
        var contacts: [Contact]?
        var messages: [Message]?
        var statuses: [Status]?
    }

    struct Contact: Decodable, Sendable {
        struct Profile: Decodable, Sendable {
            var name: String?
            var username: String?
        }
        var profile: Profile?
        var waId: String?
        var userId: String?
    }

    struct Message: Decodable, Sendable {
        struct Text: Decodable, Sendable { var body: String? }
        struct Media: Decodable, Sendable {
            var id: String?
            var mimeType: String?
            var caption: String?
            var filename: String?
        }
        struct Reaction: Decodable, Sendable {
            var messageId: String?
            var emoji: String?
        }
        struct Button: Decodable, Sendable { var text: String? }
        struct Interactive: Decodable, Sendable {
            struct Reply: Decodable, Sendable { var title: String? }
            var buttonReply: Reply?
            var listReply: Reply?
        }
        struct Location: Decodable, Sendable {
            var latitude: Double?
            var longitude: Double?
            var name: String?
            var address: String?
        }

        /// A reply names the message it quotes (`reply_with_context.pywa.json`).
        struct Context: Decodable, Sendable { var id: String? }

        /// A notice from WhatsApp itself (`system.meta-openapi.json`, `system_user_changed_number.pywa.json`).
        struct System: Decodable, Sendable {
            var body: String?
            var waId: String?
            var type: String?
        }

        var context: Context?
        var system: System?
        var from: String?
        var fromUserId: String?
        var id: String
        var timestamp: String?
        var type: String
        var text: Text?
        var image: Media?
        var document: Media?
        var video: Media?
        var reaction: Reaction?
        var button: Button?
        var interactive: Interactive?
        var location: Location?
        var errors: [GraphError]?
    }

    struct Status: Decodable, Sendable {
        var id: String
        var status: String
        var timestamp: String?
        var errors: [GraphError]?
    }

    struct GraphError: Decodable, Sendable {
        struct ErrorData: Decodable, Sendable { var details: String? }
        var code: Int?
        var title: String?
        var message: String?
        var errorData: ErrorData?
    }
}
