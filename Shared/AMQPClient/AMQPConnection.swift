import Logging
import ServiceLifecycle
import Synchronization

/// A connection to RabbitMQ with publisher confirms, consumers and automatic recovery.
///
/// All rabbitmq-c work happens on the connection's own thread; this type is the safe async surface. On a socket
/// error, a heartbeat timeout, `connection.close` or `channel.close` it reconnects with exponential backoff,
/// declares the topology again, resubscribes every consumer and republishes every message not yet confirmed.
/// Use one connection per role: a broker alarm blocks connections that publish, so consumers (and their acks)
/// belong on a connection of their own.
public final class AMQPConnection: Service, Sendable {
    let engine: AMQPEngine

    public init(configuration: AMQPConfiguration, topology: AMQPTopology = AMQPTopology(), logger: Logger) {
        var logger = logger
        logger[metadataKey: "amqp"] = "\(configuration.connectionName)"
        engine = AMQPEngine(configuration: configuration, topology: topology, logger: logger)
    }

    public var configuration: AMQPConfiguration { engine.configuration }

    /// Ready once connected with the topology declared; readiness probes use this.
    public var state: AMQPConnectionState { engine.state }

    public var isReady: Bool { state == .ready }

    /// Delivery tags held for acknowledgement bookkeeping (bounded per channel; for diagnostics and tests).
    public var trackedDeliveryTags: Int { engine.trackedTagsBox.withLock { $0 } }

    /// The broker blocked this connection (memory or disk alarm): publishes wait until it unblocks it.
    public var isBlocked: Bool { engine.blockedBox.withLock { $0 } }

    /// Starts connecting in the background (idempotent). `run()` does this for a `ServiceGroup`.
    public func start() {
        engine.start()
    }

    /// Runs until graceful shutdown (or cancellation), then drains: outstanding publishes get up to
    /// `drainTimeout` to be confirmed, consumers are cancelled, the connection closes.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Starts the drain clock without closing anything: publishes not confirmed `drainTimeout` from now, and any
    /// made after that, fail with `.shutdown`; consumers, acks and queries carry on until `shutdown()`. Called when
    /// the process begins a graceful shutdown, so that whoever waits on a publish (to an unreachable broker) gets
    /// an answer whatever order the services stop in.
    public func beginDraining() {
        engine.beginDraining()
    }

    /// Drains and closes; returns when the connection thread has exited.
    public func shutdown() async {
        await engine.shutdown()
    }

    /// Waits until the connection is ready, or throws after `timeout`.
    public func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isReady {
            if state == .closed { throw AMQPError.shutdown }
            if ContinuousClock.now >= deadline { throw AMQPError.timeout("waiting for the broker (\(state))") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Publishes one message and returns once the broker confirmed it. Throws `.nacked`, `.returned` for an
    /// unroutable mandatory message, or `.shutdown`. Messages wait across reconnects; a message without a
    /// `messageID` gets one.
    public func publish(_ message: AMQPMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            engine.enqueue([.publish(PublishRequest(message: message) { continuation.resume(with: $0) })])
        }
    }

    /// Publishes many messages in one go (pipelined within the confirm window); one result per message, in order.
    public func publish(contentsOf messages: [AMQPMessage]) async -> [Result<Void, AMQPError>] {
        guard !messages.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let collector = BatchCollector(count: messages.count, continuation: continuation)
            engine.enqueue(
                messages.enumerated().map { index, message in
                    .publish(PublishRequest(message: message) { collector.record($0, at: index) })
                }
            )
        }
    }

    /// How many messages `queue` holds (ready, not those delivered and unacknowledged) and how many consumers it
    /// has, by a passive `queue.declare`. Throws `.brokerClosed` with code 404 when the queue does not exist, and
    /// `.timeout` when no connection answers within `operationTimeout`.
    public func queueDepth(_ queue: String) async throws -> (messages: UInt32, consumers: UInt32) {
        guard case .depth(let messages, let consumers) = try await query(.depth(queue: queue)) else {
            throw AMQPError.timeout("queue.declare \(queue)")
        }
        return (messages, consumers)
    }

    /// Takes one message from `queue` (`basic.get`), or nil when it is empty. Settle it like a consumed delivery;
    /// left unsettled it goes back to the queue when the connection closes. Throws like `queueDepth`.
    public func get(queue: String) async throws -> AMQPDelivery? {
        guard case .message(let delivery) = try await query(.get(queue: queue)) else {
            throw AMQPError.timeout("basic.get \(queue)")
        }
        return delivery
    }

    /// Binds `binding`'s queue to its exchange while the application runs (the broker keeps a durable queue's
    /// bindings across restarts). Binding twice is harmless. Throws like `queueDepth`.
    public func bind(_ binding: AMQPTopology.Binding) async throws {
        guard case .done = try await query(.binding(binding, bound: true)) else {
            throw AMQPError.timeout("queue.bind \(binding.queue)")
        }
    }

    /// Removes `binding`; removing one that does not exist is harmless. Throws like `queueDepth`.
    public func unbind(_ binding: AMQPTopology.Binding) async throws {
        guard case .done = try await query(.binding(binding, bound: false)) else {
            throw AMQPError.timeout("queue.unbind \(binding.queue)")
        }
    }

    private func query(_ operation: QueryRequest.Operation) async throws -> QueryRequest.Answer {
        let deadline = ContinuousClock.now + configuration.operationTimeout
        return try await withCheckedThrowingContinuation { continuation in
            engine.enqueue([
                .query(QueryRequest(operation: operation, deadline: deadline) { continuation.resume(with: $0) })
            ])
        }
    }

    /// Subscribes to `queue` with manual acknowledgements and at most `prefetch` unacknowledged deliveries.
    public func consume(queue: String, prefetch: UInt16 = 50) -> AMQPConsumer {
        engine.makeConsumer(queue: queue, prefetch: prefetch)
    }
}

/// Gathers the results of a batch publish and resumes its caller once every message has an outcome.
private final class BatchCollector: Sendable {
    private struct State {
        var results: [Result<Void, AMQPError>?]
        var remaining: Int
    }

    private let state: Mutex<State>
    private let continuation: CheckedContinuation<[Result<Void, AMQPError>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<Void, AMQPError>], Never>) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
        self.continuation = continuation
    }

    func record(_ result: Result<Void, AMQPError>, at index: Int) {
        let finished: [Result<Void, AMQPError>]? = state.withLock { state in
            guard state.results[index] == nil else { return nil }
            state.results[index] = result
            state.remaining -= 1
            return state.remaining == 0 ? state.results.map { $0! } : nil
        }
        if let finished { continuation.resume(returning: finished) }
    }
}
