import AMQPClient
import Logging
import MostradorMessaging
import Prometheus
import ServiceLifecycle
import Synchronization

/// Keeps an eye on the dead-letter queue: its depth as the gauge `mostrador_dead_letters`, refreshed every
/// `interval`, and a readiness warning while it holds messages. The service stays ready: a dead letter needs an
/// operator (`mostrador-api dead-letters list`), not a restart.
public final class DeadLetterWatch: Service, Sendable {
    let queue: String
    let interval: Duration
    let depth: @Sendable () async throws -> Int
    let gauge: Gauge
    let logger: Logger
    private let latest = Mutex<Int?>(nil)

    /// Watches `queue` through `connection`.
    public convenience init(
        connection: AMQPConnection, queue: String = MostradorTopology.deadLetterQueue,
        interval: Duration = .seconds(15), registry: PrometheusCollectorRegistry = Observability.registry,
        logger: Logger
    ) {
        self.init(queue: queue, interval: interval, registry: registry, logger: logger) {
            Int(try await connection.queueDepth(queue).messages)
        }
    }

    /// Watches whatever `depth` reports as `queue`'s depth.
    public init(
        queue: String, interval: Duration, registry: PrometheusCollectorRegistry, logger: Logger,
        depth: @escaping @Sendable () async throws -> Int
    ) {
        self.queue = queue
        self.interval = interval
        self.depth = depth
        self.logger = logger
        gauge = registry.makeGauge(
            name: "mostrador_dead_letters", help: "Messages waiting in the dead-letter queue (\(queue)).")
    }

    /// The last depth read, nil before the first successful read.
    public var messages: Int? { latest.withLock { $0 } }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            await refresh()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
        }
    }

    /// Reads the depth once; a failed read keeps the previous value (the broker check reports the broker).
    public func refresh() async {
        let count: Int
        do {
            count = try await depth()
        } catch {
            logger.debug("could not read the dead-letter queue's depth", metadata: ["error": "\(error)"])
            return
        }
        let previous = latest.withLock { latest in
            defer { latest = count }
            return latest
        }
        gauge.set(Double(count))
        if count > (previous ?? 0) {
            logger.warning(
                "messages in the dead-letter queue: see `mostrador-api dead-letters list`",
                metadata: ["queue": "\(queue)", "messages": "\(count)"])
        }
    }

    /// A readiness warning while the queue holds messages.
    public var readinessCheck: ReadinessCheck {
        .warning("dead_letters") { [self] in
            guard let count = messages, count > 0 else { return nil }
            let messages = count == 1 ? "1 mensaje" : "\(count) mensajes"
            return "\(messages) en \(queue): revíselos con `mostrador-api dead-letters list`"
        }
    }
}
