import AsyncHTTPClient
import Foundation
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

    private struct Body: Encodable {
        let number: String
        let text: String
    }

    func send(_ message: OutboundMessage) async -> SendOutcome {
        guard let json = try? JSONEncoder().encode(Body(number: Self.number(message.recipient), text: message.text))
        else { return .rejected(reason: "mensaje no codificable") }
        return await client.sendToChannel(
            "\(gateway.url)/message/sendText/\(gateway.session)", headers: [("apikey", gateway.apiKey)], json: json,
            timeout: timeout, name: "Evolution API", outcome: Self.outcome)
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
