import Logging
import MostradorContracts
import ServiceLifecycle

/// Watches a bridge that went down and, once it answers again, resends every parked message, oldest first (which
/// keeps each customer's messages in order). Also sweeps up messages parked just as the bridge came back.
struct BridgeMonitor: Service {
    let relay: Relay
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: relay.settings.probeInterval) }
            guard !Task.isShuttingDownGracefully else { return }
            do {
                try await check()
            } catch {
                logger.error("bridge monitor failed", metadata: ["error": "\(error)"])
            }
        }
    }

    func check() async throws {
        let parked = try await relay.ledger.parkedCount()
        guard relay.isBridgeDown || parked > 0 else { return }
        if await relay.adapter.probe() == false {
            relay.setBridgeDown(true)
            return
        }
        if try await resendParked() {
            relay.setBridgeDown(false)
        }
    }

    /// Resends parked messages in order; false as soon as the bridge fails again (the rest stay parked).
    func resendParked() async throws -> Bool {
        while !Task.isShuttingDownGracefully {
            let batch = try await relay.ledger.parked(limit: 100)
            if batch.isEmpty { return true }
            logger.info("resending parked messages", metadata: ["count": "\(batch.count)"])
            for entry in batch {
                let attempt = entry.attempts + 1
                switch try await relay.send(
                    entry.command, messageID: entry.messageID, attempt: attempt, markSending: true)
                {
                case .sent:
                    continue
                case .channelDown(let reason), .transient(let reason, _):
                    try await relay.ledger.record(
                        entry.messageID, command: entry.command, status: .parked, attempts: attempt, reason: reason)
                    relay.setBridgeDown(true)
                    return false
                case .rejected(let reason):
                    try await relay.ledger.record(
                        entry.messageID, command: entry.command, status: .failed, attempts: attempt, reason: reason)
                    try await relay.report(entry.command, .failed, attempt: attempt, reason: reason)
                }
            }
        }
        return false
    }
}
