import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MostradorContracts
import NIOCore

/// `POST /webhooks/waha`: events from WAHA (`../shared/channels/waha/NOTES.md`), configured on the session with
/// `hmac.key` = `MOSTRADOR_WAHA_HMAC_KEY` and the events `message`, `message.ack` and `session.status`.
///
/// `X-Webhook-Hmac` (hex HMAC-SHA512 of the raw body) is checked in constant time before anything is parsed: 401
/// otherwise, and always without the key. Events of another session are ignored. `message` from a customer opens
/// or continues their ticket (the WAHA message id de-duplicates WAHA's retries); an `@lid` sender is looked up in
/// WAHA's Lids API so that the person stays one customer with their phone; a file WAHA downloaded is fetched and
/// kept as evidence. `message.ack` moves the technician's message to sent, delivered, read or failed.
struct WAHAWebhookController {
    let receiver: ChannelReceiver
    let hmacKey: String?
    /// The configured WAHA: its session, and where files and `@lid` lookups are fetched (nil: not configured,
    /// events are still taken, without files and lookups).
    let gateway: GatewayClient?
    static let bodyLimit = 1 << 20
    static let signatureHeader = HTTPField.Name("X-Webhook-Hmac")!
    static let algorithmHeader = HTTPField.Name("X-Webhook-Hmac-Algorithm")!

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("webhooks/waha", use: receive)
    }

    @Sendable func receive(_ request: Request, context: APIRequestContext) async throws -> GatewayReceiptJSON {
        let body = try await request.collectBody(upTo: Self.bodyLimit)
        guard let hmacKey else {
            throw APIError(
                status: .unauthorized, detail: "El webhook de WAHA no está configurado (MOSTRADOR_WAHA_HMAC_KEY)")
        }
        guard request.headers[Self.algorithmHeader].map({ $0.lowercased() == "sha512" }) ?? true,
            Self.isSigned(body.readableBytesView, header: request.headers[Self.signatureHeader], key: hmacKey)
        else {
            throw APIError(status: .unauthorized, detail: "Firma X-Webhook-Hmac (HMAC-SHA512) ausente o no válida")
        }
        let envelope: WAHAEvent<IgnoredPayload>
        do {
            envelope = try JSONDecoder().decode(WAHAEvent<IgnoredPayload>.self, from: body)
        } catch {
            throw APIError.badRequest("El cuerpo no es un evento de WAHA: \(error)")
        }
        if let session = gateway?.gateway.session, envelope.session != session {
            return GatewayReceiptJSON(ignored: "otra sesión: \(String((envelope.session ?? "").prefix(64)))")
        }
        switch envelope.event {
        case "message":
            let event = try ChannelReceiver.decode(WAHAEvent<WAHAMessage>.self, body, channel: "WAHA")
            guard let message = event.payload else { throw APIError.badRequest("Falta 'payload'") }
            return GatewayReceiptJSON(messages: try await receive(message, logger: context.logger) ? 1 : 0)
        case "message.ack", "message.ack.group":
            let event = try ChannelReceiver.decode(WAHAEvent<WAHAAck>.self, body, channel: "WAHA")
            guard let ack = event.payload, ack.fromMe != false, let update = Self.channelStatus(ack) else {
                return GatewayReceiptJSON(ignored: "sin estado")
            }
            try await receiver.conversations.applyChannelStatus(update)
            return GatewayReceiptJSON(statuses: 1)
        case "session.status":
            let event = try ChannelReceiver.decode(WAHAEvent<WAHASessionStatus>.self, body, channel: "WAHA")
            let status = event.payload?.status ?? "?"
            let level: Logger.Level = status == "WORKING" ? .notice : .warning
            context.logger.log(level: level, "WAHA session status", metadata: ["status": "\(status.prefix(40))"])
            return GatewayReceiptJSON(ignored: "session.status")
        default:
            return GatewayReceiptJSON(ignored: String(envelope.event.prefix(64)))
        }
    }

    /// Hex HMAC-SHA512 over exactly the bytes received, compared in constant time.
    static func isSigned(_ body: some Collection<UInt8>, header: String?, key: String) -> Bool {
        guard let header, let code = WebhookSignature.hexBytes(header.trimmingCharacters(in: .whitespaces)),
            code.count == SHA512.byteCount
        else { return false }
        return HMAC<SHA512>.isValidAuthenticationCode(
            code, authenticating: Data(body), using: SymmetricKey(data: Data(key.utf8)))
    }

    /// The header WAHA sends with `body` (for the tests and the docs).
    static func signature(for body: some DataProtocol, key: String) -> String {
        HMAC<SHA512>.authenticationCode(for: body, using: SymmetricKey(data: Data(key.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// Stores one customer message; false when it is not one (our own, a group's, a status broadcast) or the
    /// sender is over their new-ticket cap.
    func receive(_ message: WAHAMessage, logger: Logger) async throws -> Bool {
        guard message.fromMe != true, let from = message.from,
            !from.hasSuffix("@g.us"), !from.hasSuffix("@newsletter"), !from.hasPrefix("status@"),
            let sender = try? SenderAddress(from)
        else { return false }
        var alias: SenderAddress?
        if sender.kind == .lid, let gateway {
            do {
                alias = try await gateway.wahaPhone(forLID: from).flatMap { try? SenderAddress($0) }
            } catch {
                logger.notice("WAHA could not tell the phone behind an @lid", metadata: ["error": "\(error)"])
            }
        }
        var attachment: StoredAttachment?
        // `hasMedia` is not always sent (the document sample has only `media`): the URL decides.
        if let url = message.media?.url, let gateway {
            let context: Logger.Metadata = ["message_id": "\(message.id.prefix(120))"]
            do {
                attachment = receiver.store(
                    try await gateway.file(at: url), filename: message.media?.filename, logger: logger,
                    context: context)
            } catch {
                logger.warning(
                    "could not fetch a WAHA file; kept as text", metadata: context.merging(["error": "\(error)"]) { $1 }
                )
            }
        }
        let fallback = message.hasMedia == true || message.media != nil ? "📎 Archivo (no descargado)" : nil
        let text = message.location.map { "📍 Ubicación: \($0.latitude ?? 0), \($0.longitude ?? 0)" } ?? message.body
        guard
            let content = attachment.map({ ChannelReceiver.text(message.body) ?? ChannelReceiver.fileLabel($0) })
                ?? ChannelReceiver.text(text, fallback: fallback)
        else { return false }
        let inbound = Conversations.Inbound(
            sender: sender, alias: alias, channel: WhatsAppChannel.waha.rawValue, content: content,
            name: message.data?.pushName.flatMap(TextRules.cleanedName),
            externalID: String(message.id.prefix(200)),
            externalTimestamp: message.timestamp.flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil },
            replyTo: message.replyTo?.id.map { String($0.prefix(200)) },
            attachment: attachment)
        return try await receiver.receive(inbound, logger: logger)
    }

    /// `ack`: -1 ERROR, 0 PENDING, 1 SERVER, 2 DEVICE, 3 READ, 4 PLAYED.
    static func channelStatus(_ ack: WAHAAck) -> ChannelStatus? {
        let status: DeliveryStatus
        switch ack.ack.map({ $0.isFinite ? Int($0) : 0 }) {
        case -1: status = .failed
        case 1: status = .sent
        case 2: status = .delivered
        case 3, 4: status = .read
        default: return nil
        }
        return ChannelStatus(
            channel: WhatsAppChannel.waha.rawValue, providerID: String(ack.id.prefix(200)), status: status,
            reason: status == .failed ? "WhatsApp no pudo entregar el mensaje (WAHA: \(ack.ackName ?? "ERROR"))" : nil,
            at: Date())
    }
}

/// WAHA's event envelope (`event_envelope_structure.jsonc`) with the payload of its `event`.
struct WAHAEvent<Payload: Decodable & Sendable>: Decodable, Sendable {
    var id: String?
    var event: String
    var session: String?
    var payload: Payload?
}

/// A payload only the envelope of which is read.
struct IgnoredPayload: Decodable, Sendable {}

/// `WAMessage` (OpenAPI 2026.7.1), the fields Mostrador reads.
struct WAHAMessage: Decodable, Sendable {
    struct Media: Decodable, Sendable {
        var url: String?
        var mimetype: String?
        var filename: String?
    }
    struct Location: Decodable, Sendable {
        var latitude: Double?
        var longitude: Double?
    }
    /// The engine's raw message: only the sender's push name is read (`notifyName` on WEBJS, `pushName` else).
    struct RawData: Decodable, Sendable {
        var notifyName: String?
        var pushNameField: String?
        var pushName: String? { notifyName ?? pushNameField }

        enum CodingKeys: String, CodingKey {
            case notifyName
            case pushNameField = "pushName"
        }
    }

    var id: String
    var timestamp: Double?
    var from: String?
    var fromMe: Bool?
    var body: String?
    var hasMedia: Bool?
    var media: Media?
    var location: Location?
    var data: RawData?
    /// The message a reply quotes (`event_message_with_replyTo.jsonc`).
    var replyTo: Reply?

    struct Reply: Decodable, Sendable { var id: String? }

    enum CodingKeys: String, CodingKey {
        case id, timestamp, from, fromMe, body, hasMedia, media, location, replyTo
        case data = "_data"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        timestamp = try container.decodeIfPresent(Double.self, forKey: .timestamp)
        from = try container.decodeIfPresent(String.self, forKey: .from)
        fromMe = try container.decodeIfPresent(Bool.self, forKey: .fromMe)
        body = try container.decodeIfPresent(String.self, forKey: .body)
        hasMedia = try container.decodeIfPresent(Bool.self, forKey: .hasMedia)
        media = try container.decodeIfPresent(Media.self, forKey: .media)
        location = try? container.decodeIfPresent(Location.self, forKey: .location)
        replyTo = try? container.decodeIfPresent(Reply.self, forKey: .replyTo)
        // `_data` differs per engine and may change: a shape Mostrador does not know is no error.
        data = try? container.decodeIfPresent(RawData.self, forKey: .data)
    }
}

/// `WAMessageAckBody`.
struct WAHAAck: Decodable, Sendable {
    var id: String
    var fromMe: Bool?
    var ack: Double?
    var ackName: String?
}

struct WAHASessionStatus: Decodable, Sendable {
    var status: String?
}

/// The api's answer to a gateway (which only looks at the status code).
struct GatewayReceiptJSON: ResponseEncodable, Sendable {
    var messages = 0
    var statuses = 0
    var ignored: String?

    enum CodingKeys: String, CodingKey {
        case messages = "mensajes"
        case statuses = "estados"
        case ignored = "ignorado"
    }
}
