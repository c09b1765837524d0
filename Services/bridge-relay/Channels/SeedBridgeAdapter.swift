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
        var request = HTTPClientRequest(url: "\(baseURL)/enviar-mensaje")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Idempotency-Key", value: message.idempotencyKey)
        do {
            let body = try JSONEncoder().encode(Body(numero: message.recipient, texto: message.text))
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return Self.outcome(
                status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .transient(reason: "timeout tras \(timeout)", retryAfter: nil)
        } catch {
            return .channelDown(reason: "sin conexión con el puente: \(error)")
        }
    }

    func probe() async -> Bool? {
        var request = HTTPClientRequest(url: "\(baseURL)/health")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        guard let response = try? await client.execute(request, timeout: .seconds(3)) else { return false }
        _ = try? await response.body.collect(upTo: 64 << 10)
        switch response.status.code {
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
                reason: reason, retryAfter: headers.first(name: "Retry-After").flatMap { Self.retryAfter($0) })
        default:
            return .rejected(reason: reason)
        }
    }

    /// The range a `Retry-After` is clamped to: the delay queues top out at 5 minutes, and a bridge asking for
    /// less than a second (or for a moment in the past) gets the shortest level.
    static let retryAfterRange: ClosedRange<Double> = 1...300

    /// `Retry-After` as seconds or as an HTTP date, clamped to `retryAfterRange` (a bridge's `1e300`, `-5` or a
    /// past date must neither trap the conversion to an integer nor stall the message); nil when it says nothing
    /// usable (`inf`, `nan`, garbage), so that the relay's own backoff applies: `inf` is no time to wait.
    static func retryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        let seconds: Double
        if let number = Double(text) {
            seconds = number
        } else {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            guard let date = formatter.date(from: text) else { return nil }
            seconds = date.timeIntervalSince(now)
        }
        guard seconds.isFinite else { return nil }
        let clamped = min(max(seconds, retryAfterRange.lowerBound), retryAfterRange.upperBound)
        return .milliseconds(Int64(clamped * 1000))
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
