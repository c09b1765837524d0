import AMQPClient
import AsyncHTTPClient
import Foundation
import Logging
import MostradorContracts
import NIOCore
import NIOHTTP1

/// The seed bridge protocol: `POST {base}/enviar-mensaje {"numero", "texto"}` with `Authorization: Bearer …`.
/// A file adds `imagen_base64` or `documento_base64` with `mimetype`, `caption` (and `nombre_archivo` for a
/// document); a reply adds `en_respuesta_a` (the WhatsApp id of the quoted message). A seed-era bridge that
/// ignores them still sends `texto`, which then names the file.
struct SeedBridgeAdapter: ChannelAdapter {
    let name = "seed-bridge"
    let client: HTTPClient
    let baseURL: String
    let token: String
    let timeout: Duration

    struct Body: Encodable {
        let numero: String
        let texto: String
        var imagen_base64: String? = nil
        var documento_base64: String? = nil
        var mimetype: String? = nil
        var nombre_archivo: String? = nil
        var caption: String? = nil
        var en_respuesta_a: String? = nil

        init(_ message: OutboundMessage) {
            numero = message.recipient
            en_respuesta_a = message.replyTo
            guard let file = message.attachment else {
                texto = message.text
                return
            }
            texto = message.text.isEmpty ? "📎 \(file.displayName)" : message.text
            caption = message.text
            mimetype = file.mime
            if file.isImage {
                imagen_base64 = file.data.base64EncodedString()
            } else {
                documento_base64 = file.data.base64EncodedString()
                nombre_archivo = file.displayName
            }
        }
    }

    func send(_ message: OutboundMessage) async -> SendOutcome {
        guard let body = try? JSONEncoder().encode(Body(message)) else {
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
