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
    /// failed again meanwhile (their messages keep their places). Customers' lines drain side by side in waves: a
    /// wave takes the next message of every line still moving (so a line is never split, and each goes in its own
    /// order) and sends them up to the relay's lanes at once (``Relay/resend(_:drain:)``). A wave is recorded in one
    /// commit while the next one is sent, and its reports are published after its record, one wave's at a time: the
    /// next wave's messages go out once the channel took the ones before them, which is all their order needs; what a
    /// crash catches unrecorded is still parked and is sent again with the same idempotency keys. A line stops at a
    /// message that cannot go (the rest keep their places behind it). Stops when shutdown begins (checked after
    /// every wave); what was sent is recorded and reported first.
    @discardableResult
    func resendWaiting(skipping down: Set<WhatsAppChannel> = []) async throws -> Set<WhatsAppChannel> {
        let drain = Drain(down: down)
        var pipeline = WavePipeline(relay: relay)
        do {
            try await sendBatches(drain, through: &pipeline)
            try await pipeline.finish()
        } catch {
            // What went out is still recorded (and reported) as far as the ledger and broker allow.
            await pipeline.settle()
            throw error
        }
        return drain.failed
    }

    /// Reads the waiting messages batch by batch and sends each batch's lines in waves through `pipeline`.
    private func sendBatches(_ drain: Drain, through pipeline: inout WavePipeline) async throws {
        while !Task.isShuttingDownGracefully {
            // The ledger is read again only once every wave sent from the last batch is recorded.
            try await pipeline.recorded()
            let batch = try await relay.ledger.ready(limit: Self.batchSize, skipping: drain.down)
            if batch.isEmpty { break }
            logger.info("resending waiting messages", metadata: ["count": "\(batch.count)"])
            var lines: [[DeliveryLedger.Entry]] = []
            var lineOf: [String: Int] = [:]
            for entry in batch {
                if let index = lineOf[entry.command.recipient] {
                    lines[index].append(entry)
                } else {
                    lineOf[entry.command.recipient] = lines.count
                    lines.append([entry])
                }
            }
            var moving = Array(lines.indices)
            var position = 0
            while !moving.isEmpty, !Task.isShuttingDownGracefully {
                let wave = moving.map { lines[$0][position] }
                let outcomes = await relay.resend(wave, drain: drain)
                try await pipeline.add(wave, outcomes)
                var next: [Int] = []
                for (line, outcome) in zip(moving, outcomes) {
                    switch outcome {
                    case .sent, .rejected:
                        if position + 1 < lines[line].count { next.append(line) }
                    case .channelDown, .transient, nil:
                        break
                    }
                }
                moving = next
                position += 1
            }
        }
    }

    /// How many waiting messages one pass of ``resendWaiting(skipping:)`` reads from the ledger: enough for several
    /// waves when many customers wait, so that recording overlaps sending.
    static let batchSize = 10_000

    /// The waves sent but not yet recorded or reported: each wave's record follows the one before it, and its
    /// reports follow its record and the reports before them. At most one wave waits for its record while the next
    /// is sent; a report the broker did not confirm stays unreported in the ledger (``reportUnconfirmed()``).
    struct WavePipeline {
        let relay: Relay
        private var recording: Task<[Relay.Final], any Error>?
        private var reporting: Task<Void, any Error>?

        init(relay: Relay) { self.relay = relay }

        /// Hands a sent wave over to be recorded, once the wave before it is (its error, if any, is thrown here).
        mutating func add(_ wave: [DeliveryLedger.Entry], _ outcomes: [SendOutcome?]) async throws {
            try await recorded()
            let recording = Task { [relay] in try await relay.record(wave, outcomes) }
            let previous = reporting
            self.recording = recording
            reporting = Task { [relay] in
                let finals = try await recording.value
                // In order, and a failed report does not hold back the later ones (its error is thrown at the end).
                let earlier = await previous?.result
                try await relay.report(finals)
                try earlier?.get()
            }
        }

        /// Waits until every wave handed over is recorded.
        mutating func recorded() async throws {
            defer { recording = nil }
            _ = try await recording?.value
        }

        /// Waits until every wave handed over is recorded and reported.
        mutating func finish() async throws {
            try await recorded()
            defer { reporting = nil }
            try await reporting?.value
        }

        /// Waits for every wave handed over, whatever became of it.
        func settle() async {
            _ = await recording?.result
            _ = await reporting?.result
        }
    }

    /// What the lanes of one ``resendWaiting(skipping:)`` share: the channels down, and those that failed during it.
    final class Drain: Sendable {
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
