import AMQPClient
import ArgumentParser
import Foundation

/// Publishes persistent messages with confirms through the wrapper, then consumes them with acks.
struct AMQPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amqp", abstract: "Wrapper throughput: publish with confirms, consume with acks."
    )

    @Option var url =
        ProcessInfo.processInfo.environment["MOSTRADOR_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5679/%2F"
    @Option var count = 100_000
    @Option var size = 256
    @Option(help: "Messages handed to publish(contentsOf:) at a time.") var batch = 5_000
    @Option var window = 1_000
    @Option var prefetch: UInt16 = 1_000

    func run() async throws {
        let queue = "bench.\(UUID().uuidString.prefix(8))"
        let connection = try await connect(
            url: url, name: "bench",
            topology: AMQPTopology(queues: [.quorum(queue, deliveryLimit: 5, deadLetterExchange: nil)]),
            confirmWindow: window)
        let body = [UInt8](repeating: 0x61, count: size)

        print("wrapper: \(count) persistent \(size)-byte messages, quorum queue, window \(window)")
        let publishStart = ContinuousClock.now
        let failures = try await publishConfirmed(count, batch: batch, on: connection) { _ in
            AMQPMessage(exchange: "", routingKey: queue, body: body)
        }
        print("  publish (confirmed): \(rate(count, ContinuousClock.now - publishStart))  failures: \(failures)")

        let consumeStart = ContinuousClock.now
        var received = 0
        let consumer = connection.consume(queue: queue, prefetch: prefetch)
        for await delivery in consumer {
            delivery.ack()
            received += 1
            if received == count { break }
        }
        print("  consume (acked):     \(rate(received, ContinuousClock.now - consumeStart))")
        consumer.cancel()
        await connection.shutdown()
    }
}
