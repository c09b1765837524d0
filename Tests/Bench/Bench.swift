import ArgumentParser

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
