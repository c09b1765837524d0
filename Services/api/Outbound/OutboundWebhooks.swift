import AMQPClient
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MostradorContracts
import MostradorMessaging
import NIOCore
import ServiceLifecycle

/// Delivers domain events to the admins' webhooks. A consumer of `mostrador.events` like the notifier: its queue
/// (`api.webhooks`) is bound only to the event types some active webhook wants (`WebhookBindings`). Each event goes
/// to every subscriber that has not had it yet, as
///
///     POST <url>
///     Content-Type: application/json
///     X-Mostrador-Event: message.created
///     X-Mostrador-Delivery: <event id, the same on every attempt>
///     X-Mostrador-Signature: sha256=<hex HMAC-SHA256 of the raw body with the webhook's secret>
///
///     {"id": "<event id>", "event": "message.created", "created_at": "<ISO 8601>", "data": {<the event>}}
///
/// where `data` is the event exactly as published on the broker. A 2xx answer is a delivery; anything else (or no
/// answer) is retried through the broker's delay queues, waiting 1 s doubling to 5 minutes, up to
/// `MOSTRADOR_OUTBOUND_WEBHOOK_ATTEMPTS`; receivers already served are not called again. Every attempt's outcome is
/// kept (`GET /api/webhooks/{id}/deliveries`).
struct OutboundWebhooks: Sendable {
    static let consumer = "api.webhooks"

    let webhooks: Webhooks
    let client: HTTPClient
    let address: WebhookAddress
    let attempts: Int
    let timeout: Duration
    let logger: Logger

    func router() -> MessageRouter {
        var router = MessageRouter()
        func route<Payload: MessageContract>(_: Payload.Type) {
            router.on(Payload.self) { envelope, delivery in try await handle(envelope, delivery) }
        }
        for event in Webhook.events { route(event) }
        return router
    }

    func handle<Payload>(_ envelope: Envelope<Payload>, _ delivery: AMQPDelivery) async throws -> ConsumeOutcome {
        let eventID = envelope.messageID.uuidString.lowercased()
        let body = Self.body(
            eventID: eventID, type: Payload.type, at: envelope.timestamp, event: delivery.body)
        var pending = 0
        var fewestAttempts = Int.max
        for webhook in try await webhooks.subscribers(to: Payload.type, at: envelope.timestamp) {
            let previous = try await webhooks.delivery(of: eventID, to: webhook.id)
            if previous?.deliveredAt != nil { continue }
            if let previous, previous.attempts >= attempts { continue }
            let outcome = await post(body, eventID: eventID, type: Payload.type, to: webhook)
            let made = try await webhooks.record(
                eventID: eventID, type: Payload.type, to: webhook.id, status: outcome.status, error: outcome.error,
                delivered: outcome.delivered)
            guard !outcome.delivered else { continue }
            if made >= attempts {
                logger.warning(
                    "outbound webhook: gave up on an event",
                    metadata: [
                        "webhook": "\(webhook.id)", "event": "\(eventID)", "type": "\(Payload.type)",
                        "attempts": "\(made)", "error": "\(outcome.error ?? "")",
                    ])
                continue
            }
            pending += 1
            fewestAttempts = min(fewestAttempts, made)
        }
        guard pending > 0 else { return .ack }
        return .retry(after: Self.delay(afterAttempt: fewestAttempts))
    }

    struct Outcome {
        var status: Int?
        var error: String?
        var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    func post(_ body: [UInt8], eventID: String, type: String, to webhook: Webhook) async -> Outcome {
        guard let url = URL(string: webhook.url) else { return Outcome(error: "URL no válida") }
        do {
            try await address.checkResolved(url)
        } catch {
            return Outcome(error: error.reason)
        }
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Mostrador-Webhooks/1")
        request.headers.add(name: "X-Mostrador-Event", value: type)
        request.headers.add(name: "X-Mostrador-Delivery", value: eventID)
        request.headers.add(name: "X-Mostrador-Signature", value: Self.signature(of: body, secret: webhook.secret))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
            // The answer's body is not needed: read a little of it so the connection can be reused, then drop it.
            _ = try? await response.body.collect(upTo: 64 << 10)
            let status = Int(response.status.code)
            return Outcome(
                status: status,
                error: (200..<300).contains(status) ? nil : "HTTP \(status) \(response.status.reasonPhrase)")
        } catch {
            return Outcome(error: "\(error)")
        }
    }

    /// `{"id", "event", "created_at", "data"}` around the event's own bytes: what is signed is what is sent.
    static func body(eventID: String, type: String, at date: Date, event: [UInt8]) -> [UInt8] {
        let createdAt = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
        var body = Array(#"{"id":"\#(eventID)","event":"\#(type)","created_at":"\#(createdAt)","data":"#.utf8)
        body += event
        body.append(UInt8(ascii: "}"))
        return body
    }

    /// `sha256=<hex>` of HMAC-SHA256 over `body` with `secret`.
    static func signature(of body: [UInt8], secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256="
            + code.map { byte in
                let digits = Array("0123456789abcdef".utf8)
                return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]], as: UTF8.self)
            }.joined()
    }

    /// 1 s after the first failed attempt, doubling, at most 5 minutes (the broker's longest delay level).
    static func delay(afterAttempt attempt: Int) -> Duration {
        .seconds(min(300, 1 << min(max(attempt - 1, 0), 9)))
    }
}

/// Keeps `api.webhooks` bound to exactly the event types some active webhook wants: with no webhook, the broker
/// copies no event there. Run after every change to the webhooks and at start; bindings are idempotent, so several
/// api instances may run it at once, and the database stays the truth.
struct WebhookBindings: Sendable {
    /// Binds (`true`) or unbinds one event type; nil where there is no broker (API tests).
    let apply: (@Sendable (_ type: String, _ bound: Bool) async throws -> Void)?
    let webhooks: Webhooks
    let logger: Logger

    static func broker(_ connection: AMQPConnection) -> @Sendable (String, Bool) async throws -> Void {
        { type, bound in
            let binding = AMQPTopology.Binding(
                queue: MostradorTopology.apiWebhooks.name, exchange: MostradorTopology.events, routingKey: type)
            if bound { try await connection.bind(binding) } else { try await connection.unbind(binding) }
        }
    }

    func sync() async {
        guard let apply else { return }
        do {
            let wanted = try await webhooks.subscribedTypes()
            for type in Webhook.eventTypes {
                try await apply(type, wanted.contains(type))
            }
        } catch {
            logger.warning("could not bind the outbound webhooks' queue", metadata: ["error": "\(error)"])
        }
    }
}

/// Binds `api.webhooks` as the webhooks want when the api starts, then every minute (another instance's change, or a
/// broker that lost its bindings, is put right).
struct WebhookBindingsKeeper: Service {
    let bindings: WebhookBindings
    var interval: Duration = .seconds(60)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await bindings.sync()
                try? await Task.sleep(for: interval)
            }
        }
    }
}
