import AMQPClient
import ArgumentParser
import Logging

/// `mostrador-bench`: throughput and latency figures, printed (never asserted in unit tests).
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mostrador-bench",
        abstract: "Measures Mostrador's moving parts.",
        subcommands: [
            AMQPBench.self, RawAMQPBench.self, BridgeBench.self, EchoBench.self, SQLiteBench.self, BacklogBench.self,
            WebSocketBench.self,
        ]
    )
}

/// A rate for printing.
func rate(_ count: Int, _ elapsed: Duration) -> String {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return String(format: "%9.0f msg/s  (%d in %.2f s)", Double(count) / seconds, count, seconds)
}

/// A started connection to the broker at `url` that logs warnings only.
func connect(url: String, name: String, topology: AMQPTopology, confirmWindow: Int? = nil) async throws
    -> AMQPConnection
{
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    var configuration = try AMQPConfiguration(url: url)
    if let confirmWindow { configuration.confirmWindow = confirmWindow }
    configuration.connectionName = name
    let connection = AMQPConnection(configuration: configuration, topology: topology, logger: logger)
    connection.start()
    try await connection.waitUntilReady()
    return connection
}

/// Publishes messages 0..<count (made by `message`), `batch` at a time, each batch confirmed before the next; returns
/// how many the broker refused.
func publishConfirmed(
    _ count: Int, batch: Int, on connection: AMQPConnection, _ message: (Int) throws -> AMQPMessage
) async throws -> Int {
    var failures = 0
    for first in stride(from: 0, to: count, by: batch) {
        let messages = try (first..<min(first + batch, count)).map(message)
        failures += await connection.publish(contentsOf: messages).filter { (try? $0.get()) == nil }.count
    }
    return failures
}
