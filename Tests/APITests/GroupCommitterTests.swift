import Foundation
import Logging
import MostradorSQL
import MostradorStorage
import Synchronization
import TestSupport
import Testing

@Suite("The database writer's backlog")
struct GroupCommitterTests {
    @Test func writersWaitForRoomWhileTheBacklogIsFullAndAllCommitAfterwards() async throws {
        let path = NSTemporaryDirectory() + "mostrador-committer-\(UUID().uuidString.prefix(8)).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let committer = SQLCommitter(
            writer: SQLDatabase(sqlite: try DatabaseFactory.open(path: path)), maximumBatch: 1, maximumPending: 4,
            logger: Logger(label: "test"))
        let running = Task { try await committer.run() }
        let gate = Gate()
        // The first job holds the writer, as a slow disk would.
        let first = Task { try await committer.write { _ in gate.wait() } }
        // Generous: on a loaded two-core machine the writer's dispatch thread can take seconds to start.
        #expect(await eventually(timeout: .seconds(60)) { gate.entered })

        let writers = (0..<10).map { index in Task { try await committer.write { _ in index } } }
        #expect(await eventually(timeout: .seconds(60)) { committer.backlog == 4 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(committer.backlog == 4, "the backlog grew past its bound")

        gate.open()
        try await first.value
        var values: [Int] = []
        for writer in writers { values.append(try await writer.value) }
        #expect(values == Array(0..<10))
        #expect(committer.backlog == 0)
        running.cancel()
    }
}

/// Blocks a database job until the test opens it.
private final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let state = Mutex(false)

    var entered: Bool { state.withLock { $0 } }

    func wait() {
        state.withLock { $0 = true }
        semaphore.wait()
    }

    func open() { semaphore.signal() }
}
