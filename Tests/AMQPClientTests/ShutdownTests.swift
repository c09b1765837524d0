import AMQPClient
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("Shutting down a connection")
struct ShutdownTests {
    @Test func shuttingDownAConnectionThatNeverStartedFailsWhatWasQueued() async throws {
        let connection = AMQPConnection(configuration: AMQPConfiguration(port: 1), logger: testLogger)
        let outcomes = Outcomes()
        let publishing = Task {
            do {
                try await connection.publish(AMQPMessage(exchange: "", routingKey: "q", body: [1]))
                outcomes.record("published")
            } catch {
                outcomes.record("\(error)")
            }
        }
        let querying = Task {
            do {
                _ = try await connection.queueDepth("q")
                outcomes.record("answered")
            } catch {
                outcomes.record("\(error)")
            }
        }
        // Let both reach the connection's inbox before it shuts down.
        try await Task.sleep(for: .milliseconds(300))
        await connection.shutdown()
        #expect(await eventually { outcomes.all.count == 2 })
        #expect(outcomes.all == ["\(AMQPError.shutdown)", "\(AMQPError.shutdown)"])
        _ = (publishing, querying)
    }
}

/// What each background operation ended with, in completion order.
final class Outcomes: Sendable {
    private let values = Mutex<[String]>([])

    func record(_ value: String) { values.withLock { $0.append(value) } }

    var all: [String] { values.withLock { $0 } }
}
