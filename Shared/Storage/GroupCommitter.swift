import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Serialises writes and commits concurrent ones together: while one transaction is being written, new jobs queue
/// up and go into the next one, each in a savepoint of its own (one failing job does not undo the others). With
/// `synchronous=FULL` that turns one fsync per request into one per batch.
public final class GroupCommitter: Service, Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case stopped
        public var description: String { "the database writer has stopped" }
    }

    private struct Pending: Sendable {
        let job: @Sendable (Database) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var stopped = false
    }

    public let writer: DatabasePool
    private let maximumBatch: Int
    private let state = Mutex(State())
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation
    private let logger: Logger

    public init(writer: DatabasePool, maximumBatch: Int = 512, logger: Logger) {
        self.writer = writer
        self.maximumBatch = maximumBatch
        self.logger = logger
        (signal, signalContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs `job` in the next batch and returns its result once that batch has committed.
    public func write<Value: Sendable>(_ job: @escaping @Sendable (Database) throws -> Value) async throws -> Value {
        let value = try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.stopped else { return false }
                state.pending.append(Pending(job: job, continuation: continuation))
                return true
            }
            if accepted {
                signalContinuation.yield()
            } else {
                continuation.resume(throwing: Failure.stopped)
            }
        }
        return value as! Value
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in signal {
                await drain()
            }
            await drain()
        } onGracefulShutdown: {
            // HTTP and consumers stop before this service: commit what they handed in, then stop.
            self.signalContinuation.finish()
        }
        let leftover = state.withLock { state in
            state.stopped = true
            defer { state.pending = [] }
            return state.pending
        }
        for pending in leftover { pending.continuation.resume(throwing: Failure.stopped) }
    }

    private func drain() async {
        while true {
            let batch: [Pending] = state.withLock { state in
                let count = min(state.pending.count, maximumBatch)
                defer { state.pending.removeFirst(count) }
                return Array(state.pending.prefix(count))
            }
            if batch.isEmpty { return }
            await commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) async {
        do {
            let results = try await writer.write { db in
                batch.map { pending in
                    Result<any Sendable, any Error> {
                        var value: (any Sendable)?
                        try db.inSavepoint {
                            value = try pending.job(db)
                            return .commit
                        }
                        return value!
                    }
                }
            }
            for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
        } catch {
            logger.error("database batch failed", metadata: ["error": "\(error)", "jobs": "\(batch.count)"])
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }
}
