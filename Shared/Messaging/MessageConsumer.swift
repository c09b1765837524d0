import AMQPClient
import Logging
import MostradorContracts
import ServiceLifecycle

/// What a handler decided about a message.
public enum ConsumeOutcome: Sendable, Equatable {
    /// Done (or already done before: idempotent handlers ack duplicates).
    case ack
    /// Try again later, through the delay queue nearest below `after`.
    case retry(after: Duration)
    /// Will never work: to the dead-letter exchange.
    case deadLetter(reason: String)
}

/// Handlers by message type; a message of a type with no handler, or that does not decode, is dead-lettered.
public struct MessageRouter: Sendable {
    typealias Handler = @Sendable (AMQPDelivery) async throws -> ConsumeOutcome
    var handlers: [String: Handler] = [:]

    public init() {}

    /// Handles `Payload` messages; throwing requeues the message (bounded by the queue's delivery limit).
    public mutating func on<Payload: MessageContract>(
        _: Payload.Type,
        _ handler: @escaping @Sendable (Envelope<Payload>, AMQPDelivery) async throws -> ConsumeOutcome
    ) {
        handlers[Payload.type] = { delivery in
            let envelope = try delivery.decode(Payload.self)
            return try await handler(envelope, delivery)
        }
    }
}

/// Consumes one work queue and settles every delivery by what its handler decides. On graceful shutdown it stops
/// the subscription, finishes the deliveries it already holds, and returns.
public struct MessageConsumer: Service {
    let connection: AMQPConnection
    let queue: String
    let prefetch: UInt16
    let router: MessageRouter
    let retryLevels: AMQPRetryLevels
    let lanes: Int
    let logger: Logger

    /// With `lanes` above 1, deliveries are handled concurrently in that many lanes; deliveries with the same
    /// `correlation_id` (the same ticket) always share a lane, so they are handled in the order they arrived.
    public init(
        connection: AMQPConnection, queue: String, prefetch: UInt16 = 50, lanes: Int = 1, router: MessageRouter,
        retryLevels: AMQPRetryLevels = MostradorTopology.retryLevels, logger: Logger
    ) {
        self.connection = connection
        self.queue = queue
        self.prefetch = prefetch
        self.lanes = max(1, lanes)
        self.router = router
        self.retryLevels = retryLevels
        var logger = logger
        logger[metadataKey: "queue"] = "\(queue)"
        self.logger = logger
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

    func handle(_ delivery: AMQPDelivery) async {
        var logger = logger
        logger[metadataKey: "message_id"] = "\(delivery.properties.messageID ?? "-")"
        logger[metadataKey: "type"] = "\(delivery.properties.type ?? "-")"
        guard let type = delivery.properties.type, let handler = router.handlers[type] else {
            logger.error("no handler for this message type: dead-lettered")
            delivery.reject()
            return
        }
        do {
            switch try await handler(delivery) {
            case .ack:
                delivery.ack()
            case .retry(let delay):
                do {
                    try await connection.publish(retryLevels.retry(of: delivery, toQueue: queue, after: delay))
                    delivery.ack()
                } catch {
                    logger.warning("could not schedule a retry: requeued", metadata: ["error": "\(error)"])
                    delivery.nack(requeue: true)
                }
            case .deadLetter(let reason):
                logger.error("message dead-lettered", metadata: ["reason": "\(reason)"])
                delivery.reject()
            }
        } catch let error as ContractDecodingError {
            logger.error("message is not a valid contract: dead-lettered", metadata: ["reason": "\(error)"])
            delivery.reject()
        } catch {
            logger.warning(
                "handler failed: requeued",
                metadata: ["error": "\(error)", "delivery_count": "\(delivery.deliveryCount)"]
            )
            delivery.nack(requeue: true)
        }
    }
}
