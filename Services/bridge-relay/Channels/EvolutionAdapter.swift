import AsyncHTTPClient
import Foundation
import MostradorContracts
import MostradorServiceKit
import NIOHTTP1

/// Evolution API v2 (`../shared/channels/evolution/NOTES.md`): `POST {url}/message/sendText/{instance}`
/// `{"number", "text"}` with the `apikey` header; the answer (201) is the sent message, whose `key.id` the
/// `messages.update` events on the api's webhook carry. No idempotency key either (see `WAHAAdapter`).
struct EvolutionAdapter: ChannelAdapter {
    let name = "evolution"
    let client: HTTPClient
    let gateway: WhatsAppGateways.Gateway
    let timeout: Duration

    /// `quoted: {key: {id}}`: the message a reply quotes.
    private struct Quoted: Encodable {
        struct Key: Encodable { let id: String }
        let key: Key
    }

    private struct TextBody: Encodable {
        let number: String
        let text: String
        let quoted: Quoted?
    }

    /// `sendMedia`: `mediatype` image or document, the bytes as base64 in `media`.
    private struct MediaBody: Encodable {
        let number: String
        let mediatype: String
        let mimetype: String
        let caption: String
        let media: String
        let fileName: String
        let quoted: Quoted?
    }

    func send(_ message: OutboundMessage) async -> SendOutcome {
        guard let (path, json) = try? Self.request(for: message, instance: gateway.session) else {
            return .rejected(reason: "mensaje no codificable")
        }
        return await client.sendToChannel(
            "\(gateway.url)\(path)", headers: [("apikey", gateway.apiKey)], json: json, timeout: timeout,
            name: "Evolution API", outcome: Self.outcome)
    }

    /// The endpoint and body for `message`: `/message/sendText/{instance}`, or `/message/sendMedia/{instance}`
    /// with the bytes inline; `quoted` for a reply.
    static func request(for message: OutboundMessage, instance: String) throws -> (path: String, body: Data) {
        let quoted = message.replyTo.map { Quoted(key: .init(id: $0)) }
        guard let file = message.attachment else {
            let body = TextBody(number: number(message.recipient), text: message.text, quoted: quoted)
            return ("/message/sendText/\(instance)", try JSONEncoder().encode(body))
        }
        let body = MediaBody(
            number: number(message.recipient), mediatype: file.isImage ? "image" : "document", mimetype: file.mime,
            caption: message.text, media: file.data.base64EncodedString(), fileName: file.displayName,
            quoted: quoted)
        return ("/message/sendMedia/\(instance)", try JSONEncoder().encode(body))
    }

    /// `GET /instance/connectionState/{instance}`: up while `instance.state` is `open`.
    func probe() async -> Bool? {
        guard
            let answer = await client.checkChannel(
                "\(gateway.url)/instance/connectionState/\(gateway.session)", headers: [("apikey", gateway.apiKey)]),
            answer.status == 200
        else { return false }
        let instance = ChannelJSON.object(answer.body)?["instance"] as? [String: Any]
        return instance?["state"] as? String == "open"
    }

    /// Evolution takes a phone as digits and an `@lid` as it is (`createJid`).
    static func number(_ recipient: String) -> String {
        if recipient.lowercased().hasSuffix("@lid") { return recipient }
        return recipient.prefix { $0 != "@" && $0 != ":" }.filter { $0.isASCII && $0.isNumber }
    }

    /// Errors are `{"status", "error", "response": {"message": [...]}}`; a number not on WhatsApp is a 400.
    static func outcome(status: Int, headers: HTTPHeaders, body: Data) -> SendOutcome {
        let object = ChannelJSON.object(body)
        let response = object?["response"] as? [String: Any]
        let reason =
            ChannelJSON.text(response?["message"]) ?? ChannelJSON.text(object?["error"])
            ?? "HTTP \(status) de Evolution API"
        switch status {
        case 200..<300:
            return .sent(providerID: (object?["key"] as? [String: Any])?["id"] as? String)
        case 401, 403:
            return .channelDown(reason: "Evolution API rechazó la clave (HTTP \(status))")
        case 404:
            return .channelDown(reason: "Evolution API: \(reason)")
        case 503:
            // 2.4.0 without its licence answers 503 LICENSE_REQUIRED: the operator's to fix, not a passing fault.
            return object?["code"] as? String == "LICENSE_REQUIRED"
                ? .channelDown(reason: "Evolution API sin activar (LICENSE_REQUIRED)")
                : .transient(reason: "Evolution API: \(reason)", retryAfter: nil)
        case 408, 429, 500..<600:
            return .transient(
                reason: "Evolution API: \(reason)",
                retryAfter: RetryAfter.from(headers))
        default:
            return .rejected(reason: "Evolution API: \(reason)")
        }
    }
}
