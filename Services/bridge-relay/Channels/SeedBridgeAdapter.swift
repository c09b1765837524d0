import AMQPClient
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The seed bridge protocol: `POST {base}/enviar-mensaje {"numero", "texto"}` with `Authorization: Bearer …`.
struct SeedBridgeAdapter: ChannelAdapter {
    let name = "seed-bridge"
    let client: HTTPClient
    let baseURL: String
    let token: String
    let timeout: Duration

    private struct Body: Encodable {
        let numero: String
        let texto: String
    }

    func send(_ message: OutboundMessage) async -> SendOutcome {
        guard let body = try? JSONEncoder().encode(Body(numero: message.recipient, texto: message.text)) else {
            return .rejected(reason: "mensaje no codificable")
        }
        return await client.sendToChannel(
            "\(baseURL)/enviar-mensaje",
            headers: [("Authorization", "Bearer \(token)"), ("Idempotency-Key", message.idempotencyKey)], json: body,
            timeout: timeout, name: "el puente", outcome: Self.outcome)
    }

    func probe() async -> Bool? {
        guard
            let answer = await client.checkChannel("\(baseURL)/health", headers: [("Authorization", "Bearer \(token)")])
        else { return false }
        switch answer.status {
        case 200..<300: return true
        case 404, 405: return nil
        default: return false
        }
    }

    static func outcome(status: Int, headers: HTTPHeaders, body: Data) -> SendOutcome {
        let reason = Self.reason(from: body) ?? "HTTP \(status)"
        switch status {
        case 200..<300:
            return .sent(providerID: providerID(from: body))
        case 503:
            return .channelDown(reason: reason)
        case 401, 403:
            // A wrong token is the operator's to fix, not the message's fault: keep the messages until it is fixed.
            return .channelDown(reason: "el puente rechazó el token (HTTP \(status))")
        case 408, 429, 500..<600:
            return .transient(
                reason: reason, retryAfter: RetryAfter.from(headers))
        default:
            return .rejected(reason: reason)
        }
    }

    static func providerID(from body: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        for key in ["id", "messageId", "message_id", "id_mensaje"] {
            if let value = object[key] as? String { return value }
            if let value = object[key] as? Int { return String(value) }
        }
        if let key = object["key"] as? [String: Any], let id = key["id"] as? String { return id }
        return nil
    }

    static func reason(from body: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
        for key in ["error", "detail", "message", "mensaje"] {
            if let value = object[key] as? String { return value }
        }
        return nil
    }
}
