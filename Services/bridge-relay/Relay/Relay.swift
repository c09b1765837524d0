import AMQPClient
import Foundation
import Logging
import MostradorContracts
import MostradorMessaging
import MostradorServiceKit
import Synchronization

/// Where the relay tells the api what became of a message (`delivery.updated` on the broker; a recorder in tests).
protocol DeliveryReports: Sendable {
    /// Returns once the report is safely handed over (confirmed by the broker).
    func publishReport(_ report: DeliveryUpdated) async throws

    /// Hands several reports over together; one result per report, in order.
    func publishReports(_ reports: [DeliveryUpdated]) async -> [Result<Void, any Error>]
}

extension DeliveryReports {
    func publishReports(_ reports: [DeliveryUpdated]) async -> [Result<Void, any Error>] {
        var results: [Result<Void, any Error>] = []
        for report in reports {
            do {
                try await publishReport(report)
                results.append(.success(()))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }
}

extension AMQPConnection: DeliveryReports {
    func publishReport(_ report: DeliveryUpdated) async throws {
        try await publish(report)
    }

    /// Pipelined within the confirm window: one round of confirms for the whole batch.
    func publishReports(_ reports: [DeliveryUpdated]) async -> [Result<Void, any Error>] {
        var messages: [AMQPMessage] = []
        var results = [Result<Void, any Error>?](repeating: nil, count: reports.count)
        var published: [Int] = []
        for (index, report) in reports.enumerated() {
            do {
                messages.append(try AMQPMessage(Envelope(report)))
                published.append(index)
            } catch {
                results[index] = .failure(error)
            }
        }
        for (index, result) in zip(published, await publish(contentsOf: messages)) {
            results[index] = result.mapError { $0 }
        }
        return results.map { $0 ?? .success(()) }
    }
}

/// Delivers `relay.send` commands through a channel adapter and reports every transition as `delivery.updated`.
///
/// - sent (2xx): recorded in the ledger, reported `sent`, acknowledged;
/// - channel down (503, refused, reset): parked in the ledger and reported `waiting_bridge`; the monitor resends
///   parked messages, oldest first, once the bridge answers again;
/// - transient (timeout, 5xx, 429): recorded `retrying` (it keeps its customer's place in line: later messages to
///   that customer wait behind it), reported `retrying` and retried through the delay queues with exponential
///   backoff and full jitter (honouring `Retry-After`), `failed` and dead-lettered after the last attempt;
/// - rejected (other 4xx): reported `failed` with the bridge's reason.
///
/// Final statuses are marked reported only once the broker confirmed the report; the monitor re-publishes the
/// others, so a crash between sending and reporting never leaves the technician looking at `queued`.
struct Relay: Sendable {
    /// The channels configured, each reached through its adapter; a message goes through its conversation's one.
    let adapters: [WhatsAppChannel: any ChannelAdapter]
    let ledger: DeliveryLedger
    let reports: any DeliveryReports
    let limiter: RateLimiter
    let settings: RelaySettings
    /// Who wrote a ledger state: a retry scheduled by this very process is guaranteed to come back (the
    /// connection republishes what the broker has not confirmed), one scheduled by a dead process is not.
    let incarnation = UUID().uuidString
    /// Wakes the monitor when a customer's line may move (a message at its head was sent or failed).
    let lineMoved = Wakeup()
    private let downChannels = ChannelStates()
    let logger: Logger

    init(
        adapters: [WhatsAppChannel: any ChannelAdapter], ledger: DeliveryLedger, reports: any DeliveryReports,
        settings: RelaySettings, logger: Logger
    ) {
        self.adapters = adapters
        self.ledger = ledger
        self.reports = reports
        self.limiter = RateLimiter(perSecond: settings.rate)
        self.settings = settings
        self.logger = logger
    }

    /// A relay with one channel: the seed bridge (or a stand-in for it in tests).
    init(
        adapter: any ChannelAdapter, ledger: DeliveryLedger, reports: any DeliveryReports, settings: RelaySettings,
        logger: Logger
    ) {
        self.init(
            adapters: [.seedBridge: adapter], ledger: ledger, reports: reports, settings: settings, logger: logger)
    }

    /// The channels known to be down.
    var down: Set<WhatsAppChannel> { downChannels.value.withLock { $0 } }

    func isDown(_ channel: WhatsAppChannel) -> Bool { downChannels.value.withLock { $0.contains(channel) } }

    func setDown(_ down: Bool, channel: WhatsAppChannel) {
        let changed = downChannels.value.withLock { states in
            down ? states.insert(channel).inserted : states.remove(channel) != nil
        }
        if changed {
            if down {
                logger.warning("WhatsApp channel is down: parking messages", metadata: ["channel": "\(channel)"])
            } else {
                logger.notice("WhatsApp channel is back", metadata: ["channel": "\(channel)"])
            }
        }
    }

    /// The channel a command goes through, when this relay has an adapter for it.
    func channel(of command: RelaySend) -> WhatsAppChannel? {
        WhatsAppChannel(command: command.channel).flatMap { adapters[$0] == nil ? nil : $0 }
    }

    var router: MessageRouter {
        var router = MessageRouter()
        router.on(
            RelaySend.self,
            { envelope, delivery in
                try await handle(
                    envelope.payload, messageID: envelope.messageID.uuidString.lowercased(),
                    attempt: delivery.attempt, redriven: delivery.redriveCount > 0)
            },
            deadLettered: { envelope, reason in
                try await deadLettered(
                    envelope.payload, messageID: envelope.messageID.uuidString.lowercased(), reason: reason)
            })
        return router
    }

    /// A command on its way to the dead-letter queue (its handler kept failing): the technician sees `failed` with
    /// the reason instead of a message stuck at `queued`/`retrying`, and the customer's line moves on. A message
    /// that was in fact sent keeps its `sent`.
    func deadLettered(_ command: RelaySend, messageID: String, reason: String) async throws {
        let entry = try await ledger.entry(messageID)
        if let entry, entry.status == .sent || entry.status == .failed {
            if !entry.reported { try await reportFinal(entry) }
            return
        }
        try await finish(
            command, messageID: messageID, status: .failed, attempts: entry?.attempts ?? 0,
            reason: "no se pudo entregar: \(reason)")
        lineMoved.signal()
    }

    /// `redriven`: an operator sent the command back from the dead-letter queue (`mostrador-api dead-letters
    /// redrive`): a message that failed gets one more attempt, with the same idempotency key.
    func handle(_ command: RelaySend, messageID: String, attempt: Int, redriven: Bool = false) async throws
        -> ConsumeOutcome
    {
        var place: Int64?
        if let entry = try await ledger.entry(messageID) {
            switch entry.status {
            case .failed where redriven:
                logger.notice("re-driven message: trying it again", metadata: ["message_id": "\(messageID)"])
            case .sent, .failed:
                // Redelivered after it was finished (a crash before the ack): say so again, never send twice.
                logger.notice(
                    "a message already finished came back: not sent again",
                    metadata: [
                        "message_id": "\(messageID)", "status": "\(entry.status)", "attempt": "\(attempt)",
                        "attempts": "\(entry.attempts)",
                    ])
                try await reportFinal(entry)
                return .ack
            case .parked, .sending:
                // It waits in its customer's line: the monitor sends it.
                return .ack
            case .retrying:
                if attempt < entry.attempts, entry.incarnation == incarnation {
                    // The original of a retry this process scheduled, redelivered because its ack died with the
                    // connection: the retry copy is on its way, sending this one too would fork the message.
                    logger.notice("dropped a redelivery of a message already scheduled for retry")
                    return .ack
                }
                place = entry.lineOrder
            }
        }
        guard let channel = channel(of: command) else {
            // A conversation from a channel this relay does not (or no longer) speak: nothing can carry it.
            let name = command.channel ?? WhatsAppChannel.seedBridge.rawValue
            try await finish(
                command, messageID: messageID, status: .failed, attempts: attempt,
                reason: "el canal de WhatsApp '\(name.prefix(32))' no está configurado en el relay")
            if place != nil { lineMoved.signal() }
            return .ack
        }
        if isDown(channel) {
            return try await park(
                command, messageID: messageID, attempt: attempt, reason: "WhatsApp desconectado", report: true)
        }
        if let ahead = try await ledger.waitingAhead(recipient: command.recipient, before: place) {
            // Behind a message waiting for a channel that is down, the customer waits for it too; behind one
            // waiting for its retry, or for the monitor to resend it now that the channel is back, the message is
            // simply still queued (telling the technician "WhatsApp desconectado" would be false).
            return try await park(
                command, messageID: messageID, attempt: attempt, reason: "en cola detrás de mensajes pendientes",
                report: ahead != .retrying && !down.isEmpty)
        }
        let number = attempt + 1
        switch try await send(command, messageID: messageID, attempt: number) {
        case .sent:
            if place != nil { lineMoved.signal() }
            return .ack
        case .channelDown(let reason):
            setDown(true, channel: channel)
            return try await park(command, messageID: messageID, attempt: number, reason: reason, report: true)
        case .transient(let reason, let retryAfter):
            guard number < settings.maxAttempts else {
                try await finish(
                    command, messageID: messageID, status: .failed, attempts: number,
                    reason: "\(reason) (tras \(number) intentos)")
                if place != nil { lineMoved.signal() }
                return .deadLetter(reason: reason)
            }
            try await ledger.record(
                messageID, command: command, status: .retrying, attempts: number, reason: reason,
                incarnation: incarnation)
            try await report(command, .retrying, attempt: number, reason: reason)
            return .retry(after: max(Self.backoff(attempt: number), retryAfter ?? .zero))
        case .rejected(let reason):
            try await finish(command, messageID: messageID, status: .failed, attempts: number, reason: reason)
            if place != nil { lineMoved.signal() }
            return .ack
        }
    }

    /// One attempt through the adapter; a success is recorded and reported before returning. No record comes
    /// before the attempt: after a crash the message has none (or is still parked) and is sent again with the same
    /// idempotency key.
    func send(_ command: RelaySend, messageID: String, attempt: Int) async throws -> SendOutcome {
        guard let adapter = channel(of: command).flatMap({ adapters[$0] }) else {
            return .rejected(reason: Self.unconfigured(command))
        }
        await limiter.acquire()
        let outcome = await adapter.send(
            OutboundMessage(command, idempotencyKey: messageID))
        logger.debug(
            "channel answered",
            metadata: [
                "message_id": "\(messageID)", "ticket_id": "\(command.ticketID)", "attempt": "\(attempt)",
                "outcome": "\(outcome)",
            ])
        if case .sent(let providerID) = outcome {
            try await finish(command, messageID: messageID, status: .sent, attempts: attempt, providerID: providerID)
        }
        return outcome
    }

    /// A final status recorded in the ledger whose report is still to be published.
    struct Final: Sendable {
        let messageID: String
        let report: DeliveryUpdated

        /// `status` is `sent` or `failed`.
        init(
            messageID: String, command: RelaySend, status: DeliveryLedger.Status, attempts: Int, reason: String?,
            providerID: String?
        ) {
            self.messageID = messageID
            report = Relay.update(
                command, status == .sent ? .sent : .failed, attempt: attempts, reason: reason, providerID: providerID)
        }
    }

    /// Resends one waiting message of each of several lines (the next of each customer's line, never two of one
    /// line), up to `lanes` at once. A message whose channel is (or goes) down meanwhile is not tried and keeps its
    /// place; one that meets the channel down or a transient failure stops its channel for the rest of the `drain`.
    /// Returns each message's outcome (nil: not tried); ``record(_:_:)`` writes them to the ledger.
    func resend(_ entries: [DeliveryLedger.Entry], drain: BridgeMonitor.Drain) async -> [SendOutcome?] {
        var outcomes = [SendOutcome?](repeating: nil, count: entries.count)
        await withTaskGroup(of: (Int, SendOutcome?).self) { group in
            var next = 0
            func start() {
                guard next < entries.count else { return }
                let index = next
                next += 1
                let entry = entries[index]
                group.addTask {
                    guard let channel = channel(of: entry.command), let adapter = adapters[channel] else {
                        return (index, .rejected(reason: Self.unconfigured(entry.command)))
                    }
                    if drain.isDown(channel) { return (index, nil) }
                    await limiter.acquire()
                    let outcome = await adapter.send(OutboundMessage(entry.command, idempotencyKey: entry.messageID))
                    switch outcome {
                    case .channelDown, .transient:
                        setDown(true, channel: channel)
                        drain.stopped(channel)
                    case .sent, .rejected: break
                    }
                    return (index, outcome)
                }
            }
            for _ in 0..<max(1, settings.lanes) { start() }
            while let (index, outcome) = await group.next() {
                outcomes[index] = outcome
                start()
            }
        }
        return outcomes
    }

    /// Records a resent wave's outcomes in one ledger transaction (one commit for the whole wave, where one message
    /// at a time took three commits and a confirm each): sent, failed for good, or parked again with its attempt
    /// counted. Returns the final statuses to report (``report(_:)``).
    func record(_ entries: [DeliveryLedger.Entry], _ outcomes: [SendOutcome?]) async throws -> [Final] {
        var changes: [DeliveryLedger.Change] = []
        var finals: [Final] = []
        for (entry, outcome) in zip(entries, outcomes) {
            guard let outcome else { continue }
            let attempts = entry.attempts + 1
            let (status, providerID, reason): (DeliveryLedger.Status, String?, String?) =
                switch outcome {
                case .sent(let providerID): (.sent, providerID, nil)
                case .channelDown(let reason), .transient(let reason, _): (.parked, nil, reason)
                case .rejected(let reason): (.failed, nil, reason)
                }
            let change = DeliveryLedger.Change(
                messageID: entry.messageID, command: entry.command, status: status, attempts: attempts,
                providerID: providerID, reason: reason, incarnation: incarnation)
            changes.append(change)
            if status == .sent || status == .failed {
                finals.append(
                    Final(
                        messageID: entry.messageID, command: entry.command, status: status, attempts: attempts,
                        reason: reason, providerID: providerID))
            }
        }
        try await ledger.record(changes)
        return finals
    }

    /// Publishes recorded final statuses in one batch (one round of confirms) and marks those the broker confirmed
    /// in one ledger transaction. Unconfirmed ones stay unreported (the monitor publishes them again); the first
    /// failure is thrown once the others are marked.
    func report(_ finals: [Final]) async throws {
        guard !finals.isEmpty else { return }
        let results = await reports.publishReports(finals.map(\.report))
        var confirmed: [String] = []
        var failure: (any Error)?
        for (final, result) in zip(finals, results) {
            switch result {
            case .success: confirmed.append(final.messageID)
            case .failure(let error): failure = failure ?? error
            }
        }
        try await ledger.markReported(confirmed)
        if let failure { throw failure }
    }

    static func unconfigured(_ command: RelaySend) -> String {
        "el canal de WhatsApp '\((command.channel ?? "").prefix(32))' no está configurado"
    }

    /// Records a final status, reports it, and marks it reported once the broker confirmed the report.
    func finish(
        _ command: RelaySend, messageID: String, status: DeliveryLedger.Status, attempts: Int,
        providerID: String? = nil, reason: String? = nil
    ) async throws {
        try await ledger.record(
            messageID, command: command, status: status, attempts: attempts, providerID: providerID, reason: reason,
            incarnation: incarnation)
        try await report([
            Final(
                messageID: messageID, command: command, status: status, attempts: attempts, reason: reason,
                providerID: providerID)
        ])
    }

    /// Reports a final status again, from the ledger.
    func reportFinal(_ entry: DeliveryLedger.Entry) async throws {
        try await report(
            entry.command, entry.status == .sent ? .sent : .failed, attempt: entry.attempts, reason: entry.reason,
            providerID: entry.providerID)
        if !entry.reported { try await ledger.markReported(entry.messageID) }
    }

    private func park(_ command: RelaySend, messageID: String, attempt: Int, reason: String, report: Bool)
        async throws -> ConsumeOutcome
    {
        try await ledger.record(
            messageID, command: command, status: .parked, attempts: attempt, reason: reason, incarnation: incarnation)
        if report { try await self.report(command, .waitingBridge, attempt: attempt, reason: reason) }
        return .ack
    }

    func report(
        _ command: RelaySend, _ status: DeliveryStatus, attempt: Int, reason: String? = nil,
        providerID: String? = nil
    ) async throws {
        try await reports.publishReport(
            Self.update(command, status, attempt: attempt, reason: reason, providerID: providerID))
    }

    /// The `delivery.updated` telling the api that `command`'s message is now `status`.
    static func update(
        _ command: RelaySend, _ status: DeliveryStatus, attempt: Int, reason: String?, providerID: String?
    ) -> DeliveryUpdated {
        DeliveryUpdated(
            ticketID: command.ticketID, messageID: command.messageID, status: status, attempt: attempt, reason: reason,
            providerMessageID: providerID)
    }

    /// Exponential backoff with full jitter: uniform in [0, min(5 min, 1 s · 2^(attempt-1))], at least 1 s.
    static func backoff(attempt: Int) -> Duration {
        let ceiling = min(300.0, pow(2.0, Double(min(max(0, attempt - 1), 30))))
        return .milliseconds(Int64(max(1.0, Double.random(in: 0...ceiling)) * 1000))
    }
}

/// Which channels are known to be down, shared by every lane and the monitor.
private final class ChannelStates: Sendable {
    let value = Mutex(Set<WhatsAppChannel>())
}
