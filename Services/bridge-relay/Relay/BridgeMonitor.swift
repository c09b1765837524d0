import Foundation
import Logging
import MostradorContracts
import ServiceLifecycle

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
        while !Task.isShuttingDownGracefully {
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

    /// Resends the messages their lines let go, in order, except through the channels in `down`; returns the
    /// channels that failed again meanwhile (their messages keep their places). Stops when shutdown begins
    /// (checked after every message).
    @discardableResult
    func resendWaiting(skipping down: Set<WhatsAppChannel> = []) async throws -> Set<WhatsAppChannel> {
        var down = down
        var failed = Set<WhatsAppChannel>()
        while !Task.isShuttingDownGracefully {
            let batch = try await relay.ledger.ready(limit: 100, skipping: down)
            if batch.isEmpty { return failed }
            logger.info("resending waiting messages", metadata: ["count": "\(batch.count)"])
            // A customer whose earlier message just failed to go keeps the rest of their line behind it.
            var held = Set<String>()
            for entry in batch {
                let channel = WhatsAppChannel(command: entry.command.channel)
                if let channel, down.contains(channel) || held.contains(entry.command.recipient) {
                    held.insert(entry.command.recipient)
                    continue
                }
                let attempt = entry.attempts + 1
                switch try await relay.send(
                    entry.command, messageID: entry.messageID, attempt: attempt, markSending: true)
                {
                case .sent:
                    break
                case .channelDown(let reason), .transient(let reason, _):
                    try await relay.ledger.record(
                        entry.messageID, command: entry.command, status: .parked, attempts: attempt, reason: reason,
                        incarnation: relay.incarnation)
                    let stopped = channel ?? .seedBridge
                    relay.setDown(true, channel: stopped)
                    down.insert(stopped)
                    failed.insert(stopped)
                    held.insert(entry.command.recipient)
                case .rejected(let reason):
                    try await relay.finish(
                        entry.command, messageID: entry.messageID, status: .failed, attempts: attempt, reason: reason)
                }
                if Task.isShuttingDownGracefully { return failed }
            }
        }
        return failed
    }
}
