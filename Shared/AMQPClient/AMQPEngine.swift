import CRabbitMQ
import DequeModule
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The state of a connection, for readiness checks and logs.
public enum AMQPConnectionState: Sendable, Equatable, CustomStringConvertible {
    case idle
    case connecting
    /// Connected, topology declared, consumers subscribed.
    case ready
    case reconnecting(attempt: Int, reason: String)
    case closed

    public var description: String {
        switch self {
        case .idle: "idle"
        case .connecting: "connecting"
        case .ready: "ready"
        case .reconnecting(let attempt, let reason): "reconnecting (attempt \(attempt)): \(reason)"
        case .closed: "closed"
        }
    }
}

/// A message waiting to be published, and who to tell once the broker confirmed it.
struct PublishRequest: Sendable {
    var message: AMQPMessage
    let completion: @Sendable (Result<Void, AMQPError>) -> Void
}

/// A question for the broker answered on the connection's thread (`queueDepth`, `get`, `bind`, `unbind`); fails with `.timeout` when
/// no connection answers it before `deadline`.
struct QueryRequest: Sendable {
    enum Operation: Sendable {
        /// Passive `queue.declare`.
        case depth(queue: String)
        /// `basic.get` with manual acknowledgement.
        case get(queue: String)
        /// `queue.bind`, or `queue.unbind` when `bound` is false.
        case binding(AMQPTopology.Binding, bound: Bool)
    }

    enum Answer: Sendable {
        case depth(messages: UInt32, consumers: UInt32)
        case message(AMQPDelivery?)
        case done
    }

    let operation: Operation
    let deadline: ContinuousClock.Instant
    let completion: @Sendable (Result<Answer, AMQPError>) -> Void
}

/// A subscription; lives across reconnects until cancelled.
final class ConsumerRecord: Sendable {
    let id: Int
    let queue: String
    let prefetch: UInt16
    let continuation: AsyncStream<AMQPDelivery>.Continuation

    init(id: Int, queue: String, prefetch: UInt16, continuation: AsyncStream<AMQPDelivery>.Continuation) {
        self.id = id
        self.queue = queue
        self.prefetch = prefetch
        self.continuation = continuation
    }
}

/// The part of a connection shared between async callers and its thread: an inbox of commands, the state,
/// and an eventfd that wakes the thread from `poll`.
final class AMQPEngine: Sendable {
    enum Command: Sendable {
        case publish(PublishRequest)
        case settle(AckToken, Settlement)
        case subscribe(ConsumerRecord)
        case cancel(Int)
        case query(QueryRequest)
    }

    struct Inbox {
        var commands: [Command] = []
        var shutdownRequested = false
        /// Graceful shutdown began elsewhere in the process: start the drain clock.
        var drainRequested = false
        var drainTaken = false
        /// Set once the thread has exited: new work fails at once.
        var finished = false
        var started = false
        /// The thread is (about to be) asleep in `poll`: only then does new work need the eventfd written.
        var sleeping = false
        var nextConsumerID = 1
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let configuration: AMQPConfiguration
    let topology: AMQPTopology
    let logger: Logger
    let metrics: AMQPMetrics
    let inbox = Mutex(Inbox())
    let stateBox = Mutex(AMQPConnectionState.idle)
    let blockedBox = Mutex(false)
    let trackedTagsBox = Mutex(0)
    let wakeFD: Int32

    init(configuration: AMQPConfiguration, topology: AMQPTopology, logger: Logger) {
        self.configuration = configuration
        self.topology = topology
        self.logger = logger
        self.metrics = AMQPMetrics(connection: configuration.connectionName)
        self.wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
    }

    deinit {
        close(wakeFD)
    }

    var state: AMQPConnectionState { stateBox.withLock { $0 } }

    func setState(_ state: AMQPConnectionState) {
        stateBox.withLock { $0 = state }
    }

    /// Starts the connection thread once.
    func start() {
        let shouldStart = inbox.withLock { inbox in
            defer { inbox.started = true }
            return !inbox.started
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            ConnectionLoop(engine: self).run()
            let waiters = inbox.withLock { inbox in
                inbox.finished = true
                defer { inbox.finishWaiters = [] }
                return inbox.finishWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "amqp-\(configuration.connectionName)"
        thread.start()
    }

    func enqueue(_ commands: [Command]) {
        let (rejected, mustWake): ([Command], Bool) = inbox.withLock { inbox in
            if inbox.finished { return (commands, false) }
            inbox.commands.append(contentsOf: commands)
            defer { inbox.sleeping = false }
            return ([], inbox.sleeping)
        }
        Self.reject(rejected)
        if mustWake { wake() }
    }

    /// Fails commands that no thread will ever carry out.
    private static func reject(_ commands: [Command]) {
        for command in commands {
            switch command {
            case .publish(let request): request.completion(.failure(.shutdown))
            case .subscribe(let record): record.continuation.finish()
            case .query(let query): query.completion(.failure(.shutdown))
            case .settle, .cancel: break
            }
        }
    }

    /// Called by the thread before it sleeps: false when commands arrived meanwhile (so it must not sleep).
    func prepareToSleep() -> Bool {
        inbox.withLock { inbox in
            guard inbox.commands.isEmpty, !inbox.shutdownRequested, inbox.drainRequested == inbox.drainTaken else {
                return false
            }
            inbox.sleeping = true
            return true
        }
    }

    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    func drainWake() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
    }

    func takeInbox() -> (commands: [Command], drain: Bool, shutdown: Bool) {
        inbox.withLock { inbox in
            defer { inbox.commands.removeAll(keepingCapacity: true) }
            inbox.drainTaken = inbox.drainRequested
            return (inbox.commands, inbox.drainRequested, inbox.shutdownRequested)
        }
    }

    /// Starts the drain clock (idempotent); see `AMQPConnection.beginDraining()`.
    func beginDraining() {
        let mustWake = inbox.withLock { inbox in
            guard !inbox.drainRequested, !inbox.finished else { return false }
            inbox.drainRequested = true
            defer { inbox.sleeping = false }
            return inbox.sleeping
        }
        if mustWake { wake() }
    }

    func settle(_ token: AckToken, _ settlement: Settlement) {
        enqueue([.settle(token, settlement)])
    }

    func cancelConsumer(_ id: Int) {
        enqueue([.cancel(id)])
    }

    func makeConsumer(queue: String, prefetch: UInt16) -> AMQPConsumer {
        let id = inbox.withLock { inbox in
            defer { inbox.nextConsumerID += 1 }
            return inbox.nextConsumerID
        }
        let (stream, continuation) = AsyncStream.makeStream(of: AMQPDelivery.self)
        let record = ConsumerRecord(id: id, queue: queue, prefetch: prefetch, continuation: continuation)
        enqueue([.subscribe(record)])
        return AMQPConsumer(stream: stream, id: id, engine: self, queue: queue)
    }

    /// Asks the thread to drain and close; returns when it has exited (at once if it never started).
    func shutdown() async {
        let (alreadyDone, orphaned): (Bool, [Command]) = inbox.withLock { inbox in
            inbox.shutdownRequested = true
            inbox.sleeping = false
            guard inbox.started else {
                // No thread will ever take what was queued: fail it here, or its callers wait forever.
                inbox.started = true
                inbox.finished = true
                defer { inbox.commands = [] }
                return (true, inbox.commands)
            }
            return (inbox.finished, [])
        }
        Self.reject(orphaned)
        if alreadyDone {
            setState(.closed)
            return
        }
        wake()
        await withCheckedContinuation { continuation in
            let finished = inbox.withLock { inbox in
                if inbox.finished { return true }
                inbox.finishWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }
}
