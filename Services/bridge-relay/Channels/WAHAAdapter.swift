import AsyncHTTPClient
import Foundation
import MostradorContracts
import MostradorServiceKit
import NIOHTTP1

/// WAHA, the self-hosted WhatsApp HTTP API (`../shared/channels/waha/NOTES.md`): `POST {url}/api/sendText`
/// `{"session", "chatId", "text"}` with `X-Api-Key`; the answer (201) is the sent `WAMessage`, whose `id` the
/// `message.ack` events on the api's webhook carry. WAHA takes no idempotency key: the relay's ledger stops
/// redeliveries, a send that timed out after WAHA took it can arrive twice when retried.
struct WAHAAdapter: ChannelAdapter {
    let name = "waha"
    let client: HTTPClient
    let gateway: WhatsAppGateways.Gateway
    let timeout: Duration

    private struct TextBody: Encodable {
        let session: String
        let chatId: String
        let text: String
        let linkPreview = false
        let reply_to: String?
    }

    /// `sendImage` / `sendFile`: `file{mimetype, filename, data}` (base64) and `caption`.
    private struct FileBody: Encodable {
        struct File: Encodable {
            let mimetype: String
            let filename: String
            let data: String
        }
        let session: String
        let chatId: String
        let file: File
        let caption: String?
        let reply_to: String?
    }

    func send(_ message: OutboundMessage) async -> SendOutcome {
        guard let (path, json) = try? Self.request(for: message, session: gateway.session) else {
            return .rejected(reason: "mensaje no codificable")
        }
        return await client.sendToChannel(
            "\(gateway.url)\(path)", headers: [("X-Api-Key", gateway.apiKey)], json: json, timeout: timeout,
            name: "WAHA", outcome: Self.outcome)
    }

    /// The endpoint and body for `message`: `/api/sendText`, or `/api/sendImage` / `/api/sendFile` with the file's
    /// bytes inline (WAHA need not reach Mostrador to fetch them); `reply_to` quotes a customer's message.
    static func request(for message: OutboundMessage, session: String) throws -> (path: String, body: Data) {
        let chatID = chatID(message.recipient)
        guard let file = message.attachment else {
            let body = TextBody(session: session, chatId: chatID, text: message.text, reply_to: message.replyTo)
            return ("/api/sendText", try JSONEncoder().encode(body))
        }
        let body = FileBody(
            session: session, chatId: chatID,
            file: .init(mimetype: file.mime, filename: file.displayName, data: file.data.base64EncodedString()),
            caption: message.text.isEmpty ? nil : message.text, reply_to: message.replyTo)
        return (file.isImage ? "/api/sendImage" : "/api/sendFile", try JSONEncoder().encode(body))
    }

    /// `GET /api/sessions/{session}`: up while the session is `WORKING` (not waiting for a QR, not failed).
    func probe() async -> Bool? {
        guard
            let answer = await client.checkChannel(
                "\(gateway.url)/api/sessions/\(gateway.session)", headers: [("X-Api-Key", gateway.apiKey)]),
            answer.status == 200
        else { return false }
        return ChannelJSON.object(answer.body)?["status"] as? String == "WORKING"
    }

    /// WAHA's chat id: `<digits>@c.us` for a phone (never `@s.whatsapp.net`, which WAHA does not take), an `@lid`
    /// as it is.
    static func chatID(_ recipient: String) -> String {
        let lowered = recipient.lowercased()
        if lowered.hasSuffix("@lid") || lowered.hasSuffix("@c.us") { return recipient }
        let account = recipient.prefix { $0 != "@" && $0 != ":" }
        return account.filter { $0.isASCII && $0.isNumber } + "@c.us"
    }

    static func outcome(status: Int, headers: HTTPHeaders, body: Data) -> SendOutcome {
        let object = ChannelJSON.object(body)
        let reason =
            ChannelJSON.text(object?["message"]) ?? ChannelJSON.text(object?["error"]) ?? "HTTP \(status) de WAHA"
        switch status {
        case 200..<300:
            // `id` is a string (`true_…@c.us_…`) or, on WEBJS, an object with `_serialized`.
            let id = object?["id"]
            return .sent(providerID: id as? String ?? (id as? [String: Any])?["_serialized"] as? String)
        case 401, 403:
            return .channelDown(reason: "WAHA rechazó la clave de API (HTTP \(status))")
        case 422 where reason.lowercased().contains("session status"):
            // "Session status is not as expected": the session is not WORKING (a QR to scan, FAILED).
            return .channelDown(reason: "WAHA: la sesión no está conectada (\(reason))")
        case 404:
            // The session does not exist (yet): the operator's to start; the messages wait.
            return .channelDown(reason: "WAHA: sesión no encontrada (\(reason))")
        case 408, 429, 500..<600:
            return .transient(
                reason: "WAHA: \(reason)",
                retryAfter: RetryAfter.from(headers))
        default:
            return .rejected(reason: "WAHA: \(reason)")
        }
    }
}
