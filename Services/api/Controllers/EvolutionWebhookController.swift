import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MostradorContracts
import NIOCore

/// `POST /webhooks/evolution`: events from Evolution API v2 (`../shared/channels/evolution/NOTES.md`), with the
/// events `MESSAGES_UPSERT`, `MESSAGES_UPDATE` and `CONNECTION_UPDATE`.
///
/// Evolution does not sign its webhooks. The request must carry `Authorization: Bearer <token>`: either the
/// static `MOSTRADOR_EVOLUTION_WEBHOOK_TOKEN` (set in the webhook's `headers`), or the JWT Evolution signs itself
/// when `jwt_key` is in those headers (HS256 with `MOSTRADOR_EVOLUTION_JWT_KEY`, not expired). 401 otherwise, and
/// always when neither is configured. Events of another instance are ignored. `messages.upsert` from a customer
/// opens or continues their ticket (`key.id` de-duplicates); the phone and the `@lid` are read from `remoteJid`
/// and `remoteJidAlt` whichever way round the version sends them; files come as `base64` in the event or are
/// fetched with `getBase64FromMediaMessage`. `messages.update` moves the technician's message on.
struct EvolutionWebhookController {
    let receiver: ChannelReceiver
    let token: String?
    let jwtKey: String?
    let gateway: GatewayClient?
    var clock: WallClock = .system
    /// A photo in `base64` is about 22 MB as JSON.
    static let bodyLimit = 23 << 20

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("webhooks/evolution", use: receive)
    }

    @Sendable func receive(_ request: Request, context: APIRequestContext) async throws -> GatewayReceiptJSON {
        guard token != nil || jwtKey != nil else {
            throw APIError(
                status: .unauthorized,
                detail: "El webhook de Evolution API no está configurado (MOSTRADOR_EVOLUTION_WEBHOOK_TOKEN o _JWT_KEY)"
            )
        }
        guard let presented = request.authorizationToken, isAuthorized(presented) else {
            throw APIError(
                status: .unauthorized, detail: "Token del webhook de Evolution API no válido",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        let body = try await request.collectBody(upTo: Self.bodyLimit)
        let envelope: EvolutionEvent<IgnoredPayload>
        do {
            envelope = try JSONDecoder().decode(EvolutionEvent<IgnoredPayload>.self, from: body)
        } catch {
            throw APIError.badRequest("El cuerpo no es un evento de Evolution API: \(error)")
        }
        if let instance = gateway?.gateway.session, envelope.instance != instance {
            return GatewayReceiptJSON(ignored: "otra instancia: \(String((envelope.instance ?? "").prefix(64)))")
        }
        switch envelope.event.lowercased().replacingOccurrences(of: "_", with: ".") {
        case "messages.upsert":
            let event = try ChannelReceiver.decode(
                EvolutionEvent<EvolutionMessage>.self, body, channel: "Evolution API")
            guard let message = event.data else { throw APIError.badRequest("Falta 'data'") }
            return GatewayReceiptJSON(messages: try await receive(message, logger: context.logger) ? 1 : 0)
        case "messages.update":
            let event = try ChannelReceiver.decode(EvolutionEvent<EvolutionUpdate>.self, body, channel: "Evolution API")
            guard let update = event.data, update.fromMe != false, let status = Self.channelStatus(update) else {
                return GatewayReceiptJSON(ignored: "sin estado")
            }
            try await receiver.conversations.applyChannelStatus(status)
            return GatewayReceiptJSON(statuses: 1)
        case "connection.update":
            let event = try ChannelReceiver.decode(
                EvolutionEvent<EvolutionConnection>.self, body, channel: "Evolution API")
            let state = event.data?.state ?? "?"
            context.logger.log(
                level: state == "open" ? .notice : .warning, "Evolution API connection",
                metadata: ["state": "\(state.prefix(40))"])
            return GatewayReceiptJSON(ignored: "connection.update")
        default:
            return GatewayReceiptJSON(ignored: String(envelope.event.prefix(64)))
        }
    }

    func isAuthorized(_ presented: String) -> Bool {
        if let token, constantTimeEquals(presented, token) { return true }
        if let jwtKey { return Self.isValidJWT(presented, key: jwtKey, now: clock.now()) }
        return false
    }

    /// Evolution's webhook JWT (`generateJwtToken`): HS256 over `header.payload`, `exp` in the future.
    static func isValidJWT(_ token: String, key: String, now: Date) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 4096, parts.count == 3,
            let header = base64URL(parts[0]).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }),
            header["alg"] as? String == "HS256",
            let claims = base64URL(parts[1]).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }),
            let signature = base64URL(parts[2])
        else { return false }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        guard
            HMAC<SHA256>.isValidAuthenticationCode(
                signature, authenticating: signed, using: SymmetricKey(data: Data(key.utf8)))
        else { return false }
        guard let expiry = (claims["exp"] as? NSNumber)?.doubleValue, expiry.isFinite else { return false }
        return now.timeIntervalSince1970 < expiry
    }

    static func base64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }

    /// The token Evolution would send (for the tests and the docs).
    static func jwt(key: String, issuedAt: Date, lifetime: TimeInterval = 600) -> String {
        func encode(_ object: [String: Any]) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let iat = Int(issuedAt.timeIntervalSince1970)
        let unsigned =
            encode(["alg": "HS256", "typ": "JWT"]) + "."
            + encode(["iat": iat, "exp": iat + Int(lifetime), "app": "evolution", "action": "webhook"])
        let signature = HMAC<SHA256>.authenticationCode(
            for: Data(unsigned.utf8), using: SymmetricKey(data: Data(key.utf8)))
        return unsigned + "."
            + Data(signature).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Stores one customer message; false when it is not one (our own, a group's, a status broadcast) or the
    /// sender is over their new-ticket cap.
    func receive(_ message: EvolutionMessage, logger: Logger) async throws -> Bool {
        guard let key = message.key, key.fromMe != true, let id = key.id else { return false }
        let jids = [key.remoteJid, key.remoteJidAlt].compactMap { $0?.lowercased() }
        guard !jids.contains(where: { $0.hasSuffix("@g.us") || $0.hasPrefix("status@") || $0.hasSuffix("@newsletter") })
        else { return false }
        let phone = jids.first { $0.hasSuffix("@s.whatsapp.net") }.flatMap { try? SenderAddress($0) }
        let lid = jids.first { $0.hasSuffix("@lid") }.flatMap { try? SenderAddress($0) }
        guard let sender = phone ?? lid else { return false }
        let content = message.message?.content
        var attachment: StoredAttachment?
        if let file = message.message?.file {
            attachment = await fetch(file, message: message, id: id, logger: logger)
        }
        guard
            let text = attachment.map({ ChannelReceiver.text(content?.caption) ?? ChannelReceiver.fileLabel($0) })
                ?? ChannelReceiver.text(content?.text)
        else { return false }
        let inbound = Conversations.Inbound(
            sender: sender, alias: phone == nil ? nil : lid, channel: WhatsAppChannel.evolution.rawValue,
            content: text, name: message.pushName.flatMap(TextRules.cleanedName),
            externalID: String(id.prefix(200)),
            externalTimestamp: message.messageTimestamp.flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil },
            replyTo: message.quotedID.map { String($0.prefix(200)) },
            attachment: attachment)
        return try await receiver.receive(inbound, logger: logger)
    }

    /// The photo or document of a message: `base64` in the event when the webhook sends it, else fetched from
    /// Evolution; nil (the message keeps its line of text) when it cannot be had.
    func fetch(_ file: EvolutionMessage.Content.File, message: EvolutionMessage, id: String, logger: Logger) async
        -> StoredAttachment?
    {
        let context: Logger.Metadata = ["message_id": "\(id.prefix(120))"]
        do {
            let bytes: [UInt8]
            if let encoded = message.message?.base64,
                let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters)
            {
                bytes = Array(data)
            } else if let gateway {
                bytes = try await gateway.evolutionMedia(messageID: id)
            } else {
                return nil
            }
            return receiver.store(bytes, filename: file.fileName, logger: logger, context: context)
        } catch {
            logger.warning(
                "could not fetch an Evolution API file; kept as text",
                metadata: context.merging(["error": "\(error)"]) { $1 })
            return nil
        }
    }

    /// `status`: PENDING, SERVER_ACK, DELIVERY_ACK, READ, PLAYED, ERROR (or Baileys' numbers 0…5).
    static func channelStatus(_ update: EvolutionUpdate) -> ChannelStatus? {
        guard let id = update.keyId ?? update.messageId else { return nil }
        let status: DeliveryStatus
        switch update.status?.uppercased() {
        case "SERVER_ACK", "2": status = .sent
        case "DELIVERY_ACK", "3": status = .delivered
        case "READ", "PLAYED", "4", "5": status = .read
        case "ERROR", "0": status = .failed
        default: return nil
        }
        return ChannelStatus(
            channel: WhatsAppChannel.evolution.rawValue, providerID: String(id.prefix(200)), status: status,
            reason: status == .failed ? "WhatsApp no pudo entregar el mensaje (Evolution API: ERROR)" : nil,
            at: Date())
    }
}

/// Evolution's webhook envelope: `{event, instance, data, destination, date_time, sender, server_url, apikey}`.
struct EvolutionEvent<Payload: Decodable & Sendable>: Decodable, Sendable {
    var event: String
    var instance: String?
    var data: Payload?
}

/// `messages.upsert` `data` (`prepareMessage`): the Baileys key, push name, message and timestamp.
struct EvolutionMessage: Decodable, Sendable {
    struct Key: Decodable, Sendable {
        var remoteJid: String?
        var remoteJidAlt: String?
        var fromMe: Bool?
        var id: String?
    }

    /// Baileys' `proto.IMessage`, the kinds a help desk reads.
    struct Content: Decodable, Sendable {
        struct Text: Decodable, Sendable { var text: String? }
        struct File: Decodable, Sendable {
            var caption: String?
            var fileName: String?
            var mimetype: String?
        }
        struct Reaction: Decodable, Sendable { var text: String? }
        struct Location: Decodable, Sendable {
            var degreesLatitude: Double?
            var degreesLongitude: Double?
        }

        var conversation: String?
        var extendedTextMessage: Text?
        var imageMessage: File?
        var documentMessage: File?
        var videoMessage: File?
        var audioMessage: File?
        var stickerMessage: File?
        var reactionMessage: Reaction?
        var locationMessage: Location?
        /// The file's bytes when the webhook is set with `base64: true`.
        var base64: String?
        var messageContextInfo: ContextInfo?

        /// A photo or document Mostrador keeps as evidence.
        var file: File? { imageMessage ?? documentMessage }

        /// What the technician reads, and the caption of a file.
        var content: (text: String?, caption: String?) {
            if let text = conversation ?? extendedTextMessage?.text { return (text, nil) }
            if let image = imageMessage { return (ChannelReceiver.labelled("📷 Foto", image.caption), image.caption) }
            if let document = documentMessage {
                let name = document.fileName.map { " \($0)" } ?? ""
                return (ChannelReceiver.labelled("📎 Documento\(name)", document.caption), document.caption)
            }
            if let video = videoMessage { return (ChannelReceiver.labelled("🎬 Video", video.caption), nil) }
            if audioMessage != nil { return ("🎤 Audio", nil) }
            if stickerMessage != nil { return ("Sticker", nil) }
            if let emoji = reactionMessage?.text { return (emoji.isEmpty ? nil : "Reaccionó con \(emoji)", nil) }
            if let location = locationMessage {
                return ("📍 Ubicación: \(location.degreesLatitude ?? 0), \(location.degreesLongitude ?? 0)", nil)
            }
            return ("[Mensaje de WhatsApp no compatible]", nil)
        }
    }

    /// Baileys' `contextInfo`: `stanzaId` is the id of the message a reply quotes.
    struct ContextInfo: Decodable, Sendable { var stanzaId: String? }

    var key: Key?
    var pushName: String?
    var message: Content?
    var messageTimestamp: Double?
    /// On `data` (2.3.x, where Evolution rewrites a reply's `extendedTextMessage` to `conversation`) or in
    /// `message.messageContextInfo` (2.4).
    var contextInfo: ContextInfo?

    /// The id of the message the customer answered, when this is a reply.
    var quotedID: String? { contextInfo?.stanzaId ?? message?.messageContextInfo?.stanzaId }

    enum CodingKeys: String, CodingKey {
        case key, pushName, message, messageTimestamp, contextInfo
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decodeIfPresent(Key.self, forKey: .key)
        pushName = try? container.decodeIfPresent(String.self, forKey: .pushName)
        message = try container.decodeIfPresent(Content.self, forKey: .message)
        contextInfo = try? container.decodeIfPresent(ContextInfo.self, forKey: .contextInfo)
        // A number, or a string of one (older versions).
        messageTimestamp =
            (try? container.decodeIfPresent(Double.self, forKey: .messageTimestamp))
            ?? (try? container.decodeIfPresent(String.self, forKey: .messageTimestamp)).flatMap { Double($0) }
    }
}

/// `messages.update` `data`.
struct EvolutionUpdate: Decodable, Sendable {
    var keyId: String?
    var messageId: String?
    var fromMe: Bool?
    var status: String?

    enum CodingKeys: String, CodingKey { case keyId, messageId, fromMe, status }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        keyId = try? container.decodeIfPresent(String.self, forKey: .keyId)
        messageId = try? container.decodeIfPresent(String.self, forKey: .messageId)
        fromMe = try? container.decodeIfPresent(Bool.self, forKey: .fromMe)
        status =
            (try? container.decodeIfPresent(String.self, forKey: .status))
            ?? (try? container.decodeIfPresent(Int.self, forKey: .status)).map { String($0) }
    }
}

struct EvolutionConnection: Decodable, Sendable {
    var state: String?
}
