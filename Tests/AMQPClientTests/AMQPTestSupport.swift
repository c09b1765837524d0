import AMQPClient
import Logging
import TestSupport

/// A connection for a test, ready before the body runs and shut down after it.
func withConnection<Result>(
    _ configuration: AMQPConfiguration,
    topology: AMQPTopology,
    _ body: (AMQPConnection) async throws -> Result
) async throws -> Result {
    var configuration = configuration
    configuration.reconnectBackoff = .milliseconds(50)...(.seconds(1))
    let connection = AMQPConnection(configuration: configuration, topology: topology, logger: testLogger)
    connection.start()
    do {
        try await connection.waitUntilReady(timeout: TestBroker.readyTimeout)
        let result = try await body(connection)
        await connection.shutdown()
        return result
    } catch {
        await connection.shutdown()
        throw error
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return logger
}()

/// A topic exchange feeding one quorum work queue that dead-letters to its own dead-letter queue.
struct WorkTopology {
    let exchange = uniqueName("ex")
    let queue = uniqueName("work")
    let deadExchange = uniqueName("dead")
    let deadQueue = uniqueName("dlq")
    var deliveryLimit = 3

    var topology: AMQPTopology {
        AMQPTopology(
            exchanges: [.init(exchange, kind: .topic), .init(deadExchange, kind: .topic)],
            queues: [
                .quorum(queue, deliveryLimit: deliveryLimit, deadLetterExchange: deadExchange),
                .quorum(deadQueue, deliveryLimit: 100, deadLetterExchange: nil),
            ],
            bindings: [
                .init(queue: queue, exchange: exchange, routingKey: "#"),
                .init(queue: deadQueue, exchange: deadExchange, routingKey: "#"),
            ]
        )
    }

    func message(_ body: String, key: String = "test") -> AMQPMessage {
        AMQPMessage(exchange: exchange, routingKey: key, body: Array(body.utf8))
    }
}

/// Collects message bodies from a consumer (acking each) until told to stop.
actor Collector {
    private(set) var bodies: [String] = []
    private(set) var redeliveries = 0

    func add(_ delivery: AMQPDelivery) {
        bodies.append(String(decoding: delivery.body, as: UTF8.self))
        if delivery.redelivered { redeliveries += 1 }
    }

    func add(_ body: String) {
        bodies.append(body)
    }

    var unique: Set<String> { Set(bodies) }
    var count: Int { bodies.count }
}

extension AMQPConsumer {
    /// Acks everything into `collector` in a background task; cancel the consumer to end it.
    func collect(into collector: Collector) -> Task<Void, Never> {
        Task {
            for await delivery in self {
                await collector.add(delivery)
                delivery.ack()
            }
        }
    }
}
