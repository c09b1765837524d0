import AMQPClient
import ArgumentParser
import Foundation
import MostradorContracts
import MostradorMessaging

/// Fills the relay's command queue with `relay.send` commands, as the api would, for the backlog benchmark: each
/// customer's messages carry `#1`, `#2`, … so the counting bridge can check they arrive in order.
struct BacklogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backlog", abstract: "Publishes relay.send commands (texts numbered per customer).")

    @Option var url =
        ProcessInfo.processInfo.environment["MOSTRADOR_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5679/%2F"
    @Option var count = 100_000
    @Option var customers = 1_000
    @Option var batch = 5_000

    func run() async throws {
        let connection = try await connect(url: url, name: "bench-backlog", topology: MostradorTopology.topology)
        let start = ContinuousClock.now
        let failures = try await publishConfirmed(count, batch: batch, on: connection) { index in
            let customer = index % customers
            let command = RelaySend(
                ticketID: Int64(customer + 1), messageID: Int64(index + 1),
                recipient: String(format: "5215510%06d", customer),
                text: "mensaje pendiente #\(index / customers + 1)")
            return try AMQPMessage(Envelope(command))
        }
        print("published (confirmed): \(rate(count, ContinuousClock.now - start))  failures: \(failures)")
        await connection.shutdown()
    }
}
