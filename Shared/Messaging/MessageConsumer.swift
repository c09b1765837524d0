import AMQPClient
import Foundation
import Logging
import Metrics
import MostradorContracts
import MostradorTracing
import ServiceLifecycle

/// What a handler decided about a message.
public enum ConsumeOutcome: Sendable, Equatable {
    /// Done (or already done before: idempotent handlers ack duplicates).
    case ack
    /// Try again later, through the delay queue nearest below `after`.
    case retry(after: Duration)
    /// Will never work: to the dead-letter queue, with `reason`.
    case deadLetter(reason: String)
}

/// Handlers by message type; a message of a type with no handler, or that does not decode, is dead-lettered.
public struct MessageRouter: Sendable {
    typealias Handler = @Sendable (AMQPDelivery) async throws -> ConsumeOutcome
    typealias DeadLetterHook = @Sendable (AMQPDelivery, String) async throws -> Void
    var handlers: [String: Handler] = [:]
    var deadLetterHooks: [String: DeadLetterHook] = [:]

    public init() {}

    /// Handles `Payload` messages. A thrown error counts as transient: the consumer tries the message again later,
    /// with growing delays, up to its `HandlerRetryPolicy`'s bound. `deadLettered`, when given, hears of every
    /// `Payload` message that goes to the dead-letter queue and why (the handler's own `.deadLetter` included), just
    /// before it goes; it is best effort: what it throws is logged and the message goes anyway.
    public mutating func on<Payload: MessageContract>(
        _: Payload.Type,
        _ handler: @escaping @Sendable (Envelope<Payload>, AMQPDelivery) async throws -> ConsumeOutcome,
        deadLettered: (@Sendable (Envelope<Payload>, _ reason: String) async throws -> Void)? = nil
    ) {
        handlers[Payload.type] = { delivery in
            let envelope = try delivery.decode(Payload.self)
            return try await handler(envelope, delivery)
        }
        if let deadLettered {
            deadLetterHooks[Payload.type] = { delivery, reason in
                try await deadLettered(delivery.decode(Payload.self), reason)
            }
        } else {
            deadLetterHooks[Payload.type] = nil
        }
    }
}

/// How a consumer retries a message whose handler threw (database busy, broker nack, timeout, I/O): through the
/// delay queues, `first` doubling up to `cap` with jitter, and to the dead-letter queue after `maxAttempts` handler
/// attempts that all threw. The default, 16 attempts, keeps trying for 30 to 38 minutes.
public struct HandlerRetryPolicy: Sendable, Equatable {
    /// Counts a message's thrown handler failures, across retries (its own header: `x-retry-attempt` also counts
    /// the retries handlers ask for themselves).
    public static let failuresHeader = "x-handler-failures"
    public static let defaultMaxAttempts = 16

    public var maxAttempts: Int
    public var first: Duration
    public var cap: Duration

    public init(maxAttempts: Int = defaultMaxAttempts, first: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        self.maxAttempts = max(1, maxAttempts)
        self.first = first
        self.cap = max(first, cap)
    }

    /// The longest wait after the `failures`-th failure (from 1): `first` · 2^(failures-1), at most `cap`.
    public func delay(afterFailure failures: Int) -> Duration {
        var delay = first
        for _ in 1..<max(1, failures) {
            delay *= 2
            if delay >= cap { return cap }
        }
        return delay
    }

    /// The wait with jitter: uniform in [¾, 1] of `delay(afterFailure:)`, so messages that failed together do not
    /// all come back together, and each wait is still longer than the one before.
    public func jitteredDelay(afterFailure failures: Int) -> Duration {
        delay(afterFailure: failures) * Double.random(in: 0.75...1)
    }
}

/// Consumes one work queue and settles every delivery by what its handler decides. On graceful shutdown it stops
/// the subscription, finishes the deliveries it already holds, and returns.
///
/// - `.ack`: acknowledged;
/// - `.retry(after:)`: a copy goes to the delay queue for that wait, then the original is acknowledged;
/// - the handler throws: the same through the delay queues, waiting `retryPolicy`'s growing delays, until
///   `retryPolicy.maxAttempts` attempts have thrown;
/// - `.deadLetter`, no handler, a body that does not decode, too many failures: a copy carrying the reason
///   (`DeadLetter` headers) goes to the dead-letter exchange, then the original is acknowledged;
/// - when the broker refuses (nacks) one of those copies, it is published again after growing pauses for up to
///   `settleBudget` (a cluster node's loss); only then, or at once on any other error, is the delivery requeued
///   (a retry) or rejected (a dead letter, then without the reason).
public struct MessageConsumer: Service {
    let connection: AMQPConnection
    let publisher: AMQPConnection
    let queue: String
    let prefetch: UInt16
    let router: MessageRouter
    let retryLevels: AMQPRetryLevels
    let retryPolicy: HandlerRetryPolicy
    let deadLetterExchange: String
    let lanes: Int
    let logger: Logger
    let counters: Counters

    /// Consumes on `connection`; publishes retries and dead letters on `publisher` (by default the same).
    /// With `lanes` above 1, deliveries are handled concurrently in that many lanes; deliveries with the same
    /// `correlation_id` (the same ticket) always share a lane, so they are handled in the order they arrived.
    public init(
        connection: AMQPConnection, publisher: AMQPConnection? = nil, queue: String, prefetch: UInt16 = 50,
        lanes: Int = 1, router: MessageRouter, retryLevels: AMQPRetryLevels = MostradorTopology.retryLevels,
        retryPolicy: HandlerRetryPolicy = .init(), deadLetterExchange: String = MostradorTopology.dead, logger: Logger
    ) {
        self.connection = connection
        self.publisher = publisher ?? connection
        self.queue = queue
        self.prefetch = prefetch
        self.lanes = max(1, lanes)
        self.router = router
        self.retryLevels = retryLevels
        self.retryPolicy = retryPolicy
        self.deadLetterExchange = deadLetterExchange
        var logger = logger
        logger[metadataKey: "queue"] = "\(queue)"
        self.logger = logger
        counters = Counters(queue: queue)
    }

    public func run() async throws {
        let consumer = connection.consume(queue: queue, prefetch: prefetch)
        await withGracefulShutdownHandler {
            if lanes == 1 {
                for await delivery in consumer { await handle(delivery) }
                return
            }
            // Each lane is a serial worker; the consumer stream feeds them by the hash of the correlation id.
            let streams = (0..<lanes).map { _ in AsyncStream.makeStream(of: AMQPDelivery.self) }
            await withDiscardingTaskGroup { group in
                for (stream, _) in streams {
                    group.addTask {
                        for await delivery in stream { await handle(delivery) }
                    }
                }
                var next = 0
                for await delivery in consumer {
                    let lane: Int
                    if let key = delivery.properties.correlationID {
                        lane = Int(UInt(bitPattern: key.hashValue) % UInt(lanes))
                    } else {
                        lane = next
                        next = (next + 1) % lanes
                    }
                    streams[lane].continuation.yield(delivery)
                }
                for (_, continuation) in streams { continuation.finish() }
            }
        } onGracefulShutdown: {
            consumer.cancel()
        }
        logger.debug("consumer stopped")
    }

    /// Handles one delivery as a span of the trace it was published with (a new trace when it carries none), so that
    /// the handler's log lines name it and the messages and HTTP calls it makes pass it on.
    func handle(_ delivery: AMQPDelivery) async {
        let started = Date()
        let context = delivery.properties.trace?.child() ?? .start()
        let failed = await TraceContext.$current.withValue(context) { await handleUnderTrace(delivery) }
        // The span's name and attributes are built only when spans are exported (the hot path pays nothing else).
        guard SpanRecorder.shared.isEnabled else { return }
        var span = Span(
            "\(queue) process", kind: .consumer, context: context, start: started,
            attributes: [
                "messaging.system": "rabbitmq", "messaging.destination.name": queue,
                "messaging.message.id": delivery.properties.messageID ?? "",
                "mostrador.type": delivery.properties.type ?? "",
            ])
        span.failed = failed
        span.end()
    }

    /// Settles `delivery` by what its handler decides; true when that was not a plain ack.
    private func handleUnderTrace(_ delivery: AMQPDelivery) async -> Bool {
        var logger = logger
        logger[metadataKey: "message_id"] = "\(delivery.properties.messageID ?? "-")"
        logger[metadataKey: "type"] = "\(delivery.properties.type ?? "-")"
        guard let type = delivery.properties.type, let handler = router.handlers[type] else {
            await deadLetter(
                delivery, reason: "sin manejador para el tipo \(delivery.properties.type ?? "(ninguno)")",
                hook: nil, logger: logger)
            return true
        }
        let outcome: ConsumeOutcome
        do {
            outcome = try await handler(delivery)
        } catch let error as ContractDecodingError {
            await deadLetter(delivery, reason: "no es un contrato válido: \(error)", hook: nil, logger: logger)
            return true
        } catch {
            await failed(delivery, error: error, hook: router.deadLetterHooks[type], logger: logger)
            return true
        }
        switch outcome {
        case .ack:
            delivery.ack()
        case .retry(let delay):
            await scheduleRetry(retryLevels.retry(of: delivery, toQueue: queue, after: delay), of: delivery, logger)
        case .deadLetter(let reason):
            await deadLetter(delivery, reason: reason, hook: router.deadLetterHooks[type], logger: logger)
        }
        return outcome != .ack
    }

    /// A thrown error: tried again after a growing delay, or dead-lettered once the attempts are used up.
    func failed(
        _ delivery: AMQPDelivery, error: any Error, hook: MessageRouter.DeadLetterHook?, logger: Logger
    ) async {
        let failures = delivery.handlerFailures + 1
        guard failures < retryPolicy.maxAttempts else {
            await deadLetter(
                delivery, reason: "falló \(failures) veces; último error: \(error)", hook: hook, logger: logger)
            return
        }
        let ceiling = retryPolicy.delay(afterFailure: failures)
        var retry = retryLevels.retry(of: delivery, toQueue: queue, after: ceiling)
        retry.properties.headers[HandlerRetryPolicy.failuresHeader] = .int(Int64(failures))
        // The delay queue holds it at most its level's TTL; a per-message TTL below that brings it back sooner
        // (the broker drops the expiration when it dead-letters the copy back to the work queue).
        let level = retryLevels.level(for: ceiling)
        let wait = min(retryPolicy.jitteredDelay(afterFailure: failures), level)
        retry.properties.expiration = wait < level ? String(max(1, wait.milliseconds)) : nil
        logger.warning(
            "handler failed: retrying later",
            metadata: [
                "error": "\(error)", "failures": "\(failures)", "retry_in": "\(wait)",
                "max_attempts": "\(retryPolicy.maxAttempts)",
            ])
        counters.retried.increment()
        await scheduleRetry(retry, of: delivery, logger)
    }

    func scheduleRetry(_ retry: AMQPMessage, of delivery: AMQPDelivery, _ logger: Logger) async {
        if await publishSettling(retry, logger) {
            delivery.ack()
        } else {
            // The broker redelivers it (counted against the queue's delivery limit).
            logger.warning("could not schedule a retry: requeued")
            delivery.nack(requeue: true)
        }
    }

    /// Publishes the copy that settles a delivery (its retry or its dead letter), trying again while the broker
    /// refuses it (nacks it), for up to `settleBudget`. A quorum queue whose leader was on a lost node nacks
    /// publishes for the seconds its election takes; settling the delivery at the first refusal spent its
    /// `x-delivery-limit` in milliseconds (five instant requeues), and the broker dead-lettered a message whose
    /// handler had only asked to try again later. False when the budget ran out, the error was not a refusal, or the
    /// service is shutting down (the caller settles as before).
    func publishSettling(_ message: AMQPMessage, _ logger: Logger) async -> Bool {
        let deadline = ContinuousClock.now + Self.settleBudget
        var pause = Duration.milliseconds(250)
        while true {
            do {
                try await publisher.publish(message)
                return true
            } catch {
                // Only a refusal is worth waiting out: a closed channel or connection has already handed the delivery
                // back to the broker, and a connection shut down will not publish again.
                guard case AMQPError.nacked = error, !Task.isShuttingDownGracefully, !Task.isCancelled,
                    .now + pause < deadline
                else {
                    logger.warning("could not publish the copy", metadata: ["error": "\(error)"])
                    return false
                }
                logger.warning(
                    "the broker refused the copy: trying again", metadata: ["error": "\(error)", "in": "\(pause)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// How long a copy the broker keeps refusing is published again: a quorum queue's leader election takes seconds.
    static let settleBudget = Duration.seconds(60)

    /// Tells the hook (best effort), then moves the message to the dead-letter exchange with its reason.
    func deadLetter(
        _ delivery: AMQPDelivery, reason: String, hook: MessageRouter.DeadLetterHook?, logger: Logger
    ) async {
        logger.error("message dead-lettered", metadata: ["reason": "\(reason)"])
        counters.deadLettered.increment()
        if let hook {
            do {
                try await hook(delivery, reason)
            } catch {
                logger.warning("dead-letter hook failed", metadata: ["error": "\(error)"])
            }
        }
        let letter = DeadLetter(
            body: delivery.body, properties: delivery.properties, routingKey: delivery.routingKey, diedIn: queue,
            reason: reason)
        if await publishSettling(letter.message(to: deadLetterExchange), logger) {
            delivery.ack()
        } else {
            logger.warning("could not publish the dead letter with its reason: rejected")
            delivery.reject()
        }
    }

    struct Counters: Sendable {
        let retried: Counter
        let deadLettered: Counter

        init(queue: String) {
            retried = Counter(label: "mostrador_handler_retries_total", dimensions: [("queue", queue)])
            deadLettered = Counter(label: "mostrador_handler_dead_letters_total", dimensions: [("queue", queue)])
        }
    }
}

extension AMQPDelivery {
    /// How many times handlers threw on this message (header `x-handler-failures`), across retries.
    public var handlerFailures: Int {
        properties.headers[HandlerRetryPolicy.failuresHeader]?.intValue.map(Int.init) ?? 0
    }
}
