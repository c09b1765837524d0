import AMQPClient
import Foundation
import Logging
import MostradorContracts
import MostradorMessaging
import Synchronization

/// Delivers `relay.send` commands through a channel adapter and reports every transition as `delivery.updated`.
///
/// - sent (2xx): recorded in the ledger, reported `sent`, acknowledged;
/// - channel down (503, refused, reset): parked in the ledger and reported `waiting_bridge`; the monitor resends
///   parked messages, oldest first, once the bridge answers again;
/// - transient (timeout, 5xx, 429): reported `retrying` and retried through the delay queues with exponential
///   backoff and full jitter (honouring `Retry-After`), `failed` and dead-lettered after the last attempt;
/// - rejected (other 4xx): reported `failed` with the bridge's reason.
struct Relay: Sendable {
    let adapter: any ChannelAdapter
    let ledger: DeliveryLedger
    let connection: AMQPConnection
    let limiter: RateLimiter
    let settings: RelaySettings
    private let bridgeDown = BridgeState()
    let logger: Logger

    init(
        adapter: any ChannelAdapter, ledger: DeliveryLedger, connection: AMQPConnection, settings: RelaySettings,
        logger: Logger
    ) {
        self.adapter = adapter
        self.ledger = ledger
        self.connection = connection
        self.limiter = RateLimiter(perSecond: settings.rate)
        self.settings = settings
        self.logger = logger
    }

    var isBridgeDown: Bool { bridgeDown.value.withLock { $0 } }

    func setBridgeDown(_ down: Bool) {
        let changed = bridgeDown.value.withLock { state in
            defer { state = down }
            return state != down
        }
        if changed {
            if down {
                logger.warning("WhatsApp bridge is down: parking messages")
            } else {
                logger.notice("WhatsApp bridge is back")
            }
        }
    }

    var router: MessageRouter {
        var router = MessageRouter()
        router.on(RelaySend.self) { envelope, delivery in
            try await handle(
                envelope.payload, messageID: envelope.messageID.uuidString.lowercased(), attempt: delivery.attempt)
        }
        return router
    }

    func handle(_ command: RelaySend, messageID: String, attempt: Int) async throws -> ConsumeOutcome {
        if let entry = try await ledger.entry(messageID) {
            switch entry.status {
            case .sent:
                // Redelivered after it was sent (a crash before the ack): say so again, do not send twice.
                try await report(command, .sent, attempt: entry.attempts, providerID: entry.providerID)
                return .ack
            case .failed, .parked:
                return .ack
            case .sending:
                logger.notice("resending a message whose outcome was lost", metadata: ["message_id": "\(messageID)"])
            }
        }
        if isBridgeDown {
            return try await park(command, messageID: messageID, attempt: attempt, reason: "WhatsApp desconectado")
        }
        if try await ledger.hasParked(recipient: command.recipient) {
            return try await park(
                command, messageID: messageID, attempt: attempt, reason: "en cola detrás de mensajes pendientes")
        }
        let number = attempt + 1
        switch try await send(command, messageID: messageID, attempt: number) {
        case .sent:
            return .ack
        case .channelDown(let reason):
            setBridgeDown(true)
            return try await park(command, messageID: messageID, attempt: number, reason: reason)
        case .transient(let reason, let retryAfter):
            guard number < settings.maxAttempts else {
                try await ledger.record(messageID, command: command, status: .failed, attempts: number, reason: reason)
                try await report(command, .failed, attempt: number, reason: "\(reason) (tras \(number) intentos)")
                return .deadLetter(reason: reason)
            }
            try await report(command, .retrying, attempt: number, reason: reason)
            return .retry(after: max(Self.backoff(attempt: number), retryAfter ?? .zero))
        case .rejected(let reason):
            try await ledger.record(messageID, command: command, status: .failed, attempts: number, reason: reason)
            try await report(command, .failed, attempt: number, reason: reason)
            return .ack
        }
    }

    /// One attempt through the adapter; a success is recorded and reported before returning. `markSending` records
    /// the attempt first (resending parked messages needs it to hold their place in line); a fresh message needs no
    /// record before the attempt: after a crash it has none and is resent with the same idempotency key.
    func send(_ command: RelaySend, messageID: String, attempt: Int, markSending: Bool = false) async throws
        -> SendOutcome
    {
        await limiter.acquire()
        if markSending {
            try await ledger.record(messageID, command: command, status: .sending, attempts: attempt)
        }
        let outcome = await adapter.send(
            OutboundMessage(idempotencyKey: messageID, recipient: command.recipient, text: command.text))
        if case .sent(let providerID) = outcome {
            try await ledger.record(
                messageID, command: command, status: .sent, attempts: attempt, providerID: providerID)
            try await report(command, .sent, attempt: attempt, providerID: providerID)
        }
        return outcome
    }

    private func park(_ command: RelaySend, messageID: String, attempt: Int, reason: String) async throws
        -> ConsumeOutcome
    {
        try await ledger.record(messageID, command: command, status: .parked, attempts: attempt, reason: reason)
        try await report(command, .waitingBridge, attempt: attempt, reason: reason)
        return .ack
    }

    func report(
        _ command: RelaySend, _ status: DeliveryStatus, attempt: Int, reason: String? = nil,
        providerID: String? = nil
    ) async throws {
        try await connection.publish(
            DeliveryUpdated(
                ticketID: command.ticketID, messageID: command.messageID, status: status, attempt: attempt,
                reason: reason, providerMessageID: providerID))
    }

    /// Exponential backoff with full jitter: uniform in [0, min(5 min, 1 s · 2^(attempt-1))], at least 1 s.
    static func backoff(attempt: Int) -> Duration {
        let ceiling = min(300.0, pow(2.0, Double(max(0, attempt - 1))))
        return .milliseconds(Int64(max(1.0, Double.random(in: 0...ceiling)) * 1000))
    }
}

/// Whether the bridge is known to be down, shared by every lane and the monitor.
private final class BridgeState: Sendable {
    let value = Mutex(false)
}
