import AMQPClient
import Foundation
import Logging
import MostradorMessaging
import MostradorServiceKit
import ServiceLifecycle
import Synchronization

/// Publishes live pokes to `mostrador.live` (transient, best effort: a client that missed one catches up with
/// `sync/` or the next poke) and consumes this instance's own queue bound to it.
final class LiveFeed: Service, Sendable {
    let connection: AMQPConnection
    let queue: String
    let hub: LiveHub
    let logger: Logger
    /// Forgotten when an agent's sessions are revoked on any instance.
    let sessions: SessionCache?
    private let pending = Mutex([LiveEvent]())
    private let wakeup = Wakeup()

    /// The fan-out and this instance's queue on it (exclusive, gone with the connection), declared on a connection
    /// of the feed's own: redeclaring an exclusive queue can fail for a while after a network blip
    /// (RESOURCE_LOCKED until the broker reaps the old connection), and that must not stall the outbox or the
    /// results consumer.
    static func topology(instance: String) -> AMQPTopology {
        let queue = "mostrador.live.\(instance)"
        return AMQPTopology(
            exchanges: [.init(MostradorTopology.live, kind: .fanout, durable: false)],
            queues: [.transient(queue)],
            bindings: [.init(queue: queue, exchange: MostradorTopology.live)])
    }

    init(connection: AMQPConnection, instance: String, hub: LiveHub, sessions: SessionCache? = nil, logger: Logger) {
        self.connection = connection
        self.sessions = sessions
        queue = "mostrador.live.\(instance)"
        self.hub = hub
        self.logger = logger
    }

    /// Queues a poke for every instance (including this one).
    func send(_ event: LiveEvent) {
        let count = pending.withLock { pending in
            pending.append(event)
            return pending.count
        }
        // Bounded: a client that misses pokes catches up with the next one or with sync/.
        if count > 50_000 { pending.withLock { $0.removeFirst(25_000) } }
        wakeup.signal()
    }

    func run() async throws {
        let consumer = connection.consume(queue: queue, prefetch: 1000)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    let decoder = JSONDecoder()
                    for await delivery in consumer {
                        delivery.ack()
                        guard let event = try? decoder.decode(LiveEvent.self, from: Data(delivery.body)) else {
                            continue
                        }
                        if event.kind == .sessionsRevoked { self.sessions?.forgetAll() }
                        await self.hub.handle(event)
                    }
                }
                group.addTask { await self.publishLoop() }
            }
        } onGracefulShutdown: {
            consumer.cancel()
            self.wakeup.signal()
        }
    }

    /// Publishes queued pokes in batches; repeated "new messages in ticket X" pokes collapse into one.
    private func publishLoop() async {
        let encoder = JSONEncoder()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await wakeup.wait(timeout: .seconds(1))
            let events = pending.withLock { pending in
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            guard !events.isEmpty else { continue }
            var seen = Set<Int64>()
            let coalesced = events.reversed().filter { event in
                event.kind != .messages || seen.insert(event.ticketID).inserted
            }.reversed()
            let messages = coalesced.compactMap { event -> AMQPMessage? in
                guard let body = try? encoder.encode(event) else { return nil }
                return AMQPMessage(
                    exchange: MostradorTopology.live, routingKey: "", body: Array(body),
                    properties: AMQPProperties(contentType: "application/json", persistent: false), mandatory: false)
            }
            let failed = await connection.publish(contentsOf: messages).filter { (try? $0.get()) == nil }.count
            if failed > 0 { logger.debug("live pokes not published", metadata: ["count": "\(failed)"]) }
        }
    }
}
