import Foundation
import Logging
import MostradorContracts
import ServiceLifecycle
import Synchronization

/// Keeps the customers' lines moving: watches a bridge that went down and, once it answers again, resends every
/// waiting message, oldest first (which keeps each customer's messages in order); sends the messages that queued
/// behind a retry once it is done; and re-publishes final statuses the api never confirmed. At start it does the
/// same for what a killed relay left behind (messages caught mid-resend are sent again with the same key).
struct BridgeMonitor: Service {
    let relay: Relay
    let logger: Logger
    /// A report this old and still unconfirmed was lost (normally it follows its record within milliseconds).
    var reportGrace: TimeInterval = 30

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await check()
            } catch {
                logger.error("bridge monitor failed", metadata: ["error": "\(error)"])
            }
            guard !Task.isShuttingDownGracefully else { return }
            await withGracefulShutdownHandler {
                await relay.lineMoved.wait(timeout: relay.settings.probeInterval)
            } onGracefulShutdown: {
                relay.lineMoved.signal()
            }
        }
    }

    func check() async throws {
        try await reportUnconfirmed()
        let watched = relay.down.union(try await relay.ledger.waitingChannels())
        guard !watched.isEmpty else { return }
        var down = Set<WhatsAppChannel>()
        for channel in watched.sorted(by: { $0.rawValue < $1.rawValue }) {
            // A channel this relay has no adapter for: its messages fail as they come up (see `resendWaiting`).
            if await relay.adapters[channel]?.probe() == false {
                relay.setDown(true, channel: channel)
                down.insert(channel)
            }
        }
        let failed = try await resendWaiting(skipping: down)
        for channel in watched.subtracting(down).subtracting(failed) where !Task.isShuttingDownGracefully {
            relay.setDown(false, channel: channel)
        }
    }

    /// Re-publishes final statuses (sent, failed) whose report the broker never confirmed.
    func reportUnconfirmed() async throws {
        while !Task.isShuttingDownGracefully {
            let batch = try await relay.ledger.unreported(
                incarnation: relay.incarnation, before: Date().addingTimeInterval(-reportGrace), limit: 100)
            if batch.isEmpty { return }
            logger.notice("re-publishing unconfirmed delivery reports", metadata: ["count": "\(batch.count)"])
            for entry in batch {
                try await relay.reportFinal(entry)
                if Task.isShuttingDownGracefully { return }
            }
        }
    }

    /// Resends the messages their lines let go, except through the channels in `down`; returns the channels that
    /// failed again meanwhile (their messages keep their places). Customers' lines drain side by side, up to the
    /// relay's lanes at once, each in its own order (a line is never split between two lanes); the ledger's group
    /// commits and the broker's confirm window carry many lines' writes together. Stops when shutdown begins
    /// (checked after every message).
    @discardableResult
    func resendWaiting(skipping down: Set<WhatsAppChannel> = []) async throws -> Set<WhatsAppChannel> {
        let drain = Drain(down: down)
        while !Task.isShuttingDownGracefully {
            let batch = try await relay.ledger.ready(limit: Self.batchSize, skipping: drain.down)
            if batch.isEmpty { break }
            logger.info("resending waiting messages", metadata: ["count": "\(batch.count)"])
            var lines: [String: [DeliveryLedger.Entry]] = [:]
            var customers: [String] = []
            for entry in batch {
                if lines[entry.command.recipient] == nil { customers.append(entry.command.recipient) }
                lines[entry.command.recipient, default: []].append(entry)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending = customers.makeIterator()
                for _ in 0..<max(1, relay.settings.lanes) {
                    guard let customer = pending.next(), let line = lines[customer] else { break }
                    group.addTask { try await resend(line, drain: drain) }
                }
                while try await group.next() != nil {
                    guard let customer = pending.next(), let line = lines[customer] else { continue }
                    group.addTask { try await resend(line, drain: drain) }
                }
            }
        }
        return drain.failed
    }

    /// How many waiting messages one pass of ``resendWaiting(skipping:)`` reads from the ledger.
    static let batchSize = 1_000

    /// One customer's waiting messages, oldest first: sent one after the other until one cannot go (the rest keep
    /// their places behind it).
    private func resend(_ line: [DeliveryLedger.Entry], drain: Drain) async throws {
        for entry in line {
            let channel = WhatsAppChannel(command: entry.command.channel)
            if let channel, drain.isDown(channel) { return }
            let attempt = entry.attempts + 1
            switch try await relay.send(entry.command, messageID: entry.messageID, attempt: attempt, markSending: true)
            {
            case .sent:
                break
            case .channelDown(let reason), .transient(let reason, _):
                try await relay.ledger.record(
                    entry.messageID, command: entry.command, status: .parked, attempts: attempt, reason: reason,
                    incarnation: relay.incarnation)
                let stopped = channel ?? .seedBridge
                relay.setDown(true, channel: stopped)
                drain.stopped(stopped)
                return
            case .rejected(let reason):
                try await relay.finish(
                    entry.command, messageID: entry.messageID, status: .failed, attempts: attempt, reason: reason)
            }
            if Task.isShuttingDownGracefully { return }
        }
    }

    /// What the lanes of one ``resendWaiting(skipping:)`` share: the channels down, and those that failed during it.
    private final class Drain: Sendable {
        private let state: Mutex<(down: Set<WhatsAppChannel>, failed: Set<WhatsAppChannel>)>

        init(down: Set<WhatsAppChannel>) { state = Mutex((down, [])) }

        var down: Set<WhatsAppChannel> { state.withLock { $0.down } }
        var failed: Set<WhatsAppChannel> { state.withLock { $0.failed } }
        func isDown(_ channel: WhatsAppChannel) -> Bool { state.withLock { $0.down.contains(channel) } }

        func stopped(_ channel: WhatsAppChannel) {
            state.withLock { state in
                state.down.insert(channel)
                state.failed.insert(channel)
            }
        }
    }
}
