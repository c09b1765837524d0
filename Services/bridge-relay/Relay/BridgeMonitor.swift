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
        let waiting = try await relay.ledger.waitingCount()
        guard relay.isBridgeDown || waiting > 0 else { return }
        if await relay.adapter.probe() == false {
            relay.setBridgeDown(true)
            return
        }
        if try await resendWaiting() {
            relay.setBridgeDown(false)
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

    /// Resends the messages their lines let go, in order; false as soon as the bridge fails again (the rest keep
    /// their places) or shutdown begins (checked after every message).
    func resendWaiting() async throws -> Bool {
        while !Task.isShuttingDownGracefully {
            let batch = try await relay.ledger.ready(limit: 100)
            if batch.isEmpty { return true }
            logger.info("resending waiting messages", metadata: ["count": "\(batch.count)"])
            for entry in batch {
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
                    relay.setBridgeDown(true)
                    return false
                case .rejected(let reason):
                    try await relay.finish(
                        entry.command, messageID: entry.messageID, status: .failed, attempts: attempt, reason: reason)
                }
                if Task.isShuttingDownGracefully { return false }
            }
        }
        return false
    }
}
