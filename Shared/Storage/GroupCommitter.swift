import GRDB
import Logging
import MostradorTracing
import ServiceLifecycle
import Synchronization

/// A database that runs a closure in a write transaction, and a savepoint inside one.
public protocol TransactionWriter: Sendable {
    associatedtype Connection
    func writeBatch<Value: Sendable>(_ body: @escaping @Sendable (Connection) throws -> Value) async throws -> Value
    /// Runs `body` in a savepoint: kept when it returns, undone when it throws.
    static func inSavepoint(_ db: Connection, _ body: () throws -> Void) throws
}

extension DatabasePool: TransactionWriter {
    public func writeBatch<Value: Sendable>(_ body: @escaping @Sendable (Connection) throws -> Value) async throws
        -> Value
    {
        try await write(body)
    }

    public static func inSavepoint(_ db: Database, _ body: () throws -> Void) throws {
        try db.inSavepoint {
            try body()
            return .commit
        }
    }
}

/// Serialises writes and commits concurrent ones together: while one transaction is being written, new jobs queue
/// up and go into the next one, each in a savepoint of its own (one failing job does not undo the others). With
/// `synchronous=FULL` that turns one fsync per request into one per batch. At most `maximumPending` jobs wait for a
/// batch; further callers wait for room (backpressure) rather than piling up in memory behind a slow disk.
public final class GroupCommitter<Writer: TransactionWriter>: Service, Sendable {
    public typealias Connection = Writer.Connection

    public enum Failure: Error, CustomStringConvertible {
        case stopped
        public var description: String { "the database writer has stopped" }
    }

    private struct Pending: Sendable {
        let job: @Sendable (Connection) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        /// Room promised to callers that have not appended their job yet.
        var reserved = 0
        var waitingForRoom: [CheckedContinuation<Void, Never>] = []
        var stopped = false
    }

    public let writer: Writer
    private let maximumBatch: Int
    private let maximumPending: Int
    private let state = Mutex(State())
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation
    private let logger: Logger

    public init(writer: Writer, maximumBatch: Int = 512, maximumPending: Int = 4096, logger: Logger) {
        self.writer = writer
        self.maximumBatch = maximumBatch
        self.maximumPending = max(1, maximumPending)
        self.logger = logger
        (signal, signalContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs `job` in the next batch and returns its result once that batch has committed. The job runs under the
    /// caller's trace (`TraceContext.current`), so the outbox rows it writes carry it.
    public func write<Value: Sendable>(_ job: @escaping @Sendable (Connection) throws -> Value) async throws -> Value {
        let job = Self.underCurrentTrace(job)
        await reserveRoom()
        let value = try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                state.reserved -= 1
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

    /// `job`, to be run under the trace of the task that hands it in (the writer runs it in a task of its own).
    private static func underCurrentTrace<Value>(
        _ job: @escaping @Sendable (Connection) throws -> Value
    ) -> @Sendable (Connection) throws -> Value {
        guard let trace = TraceContext.current else { return job }
        return { db in try TraceContext.$current.withValue(trace) { try job(db) } }
    }

    /// Jobs waiting for the next batch (at most `maximumPending`).
    public var backlog: Int { state.withLock { $0.pending.count } }

    /// Returns once there is room for one more job (or the writer stopped: the job then fails at once).
    private func reserveRoom() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state in
                guard state.stopped || state.pending.count + state.reserved < maximumPending else {
                    state.waitingForRoom.append(continuation)
                    return false
                }
                state.reserved += 1
                return true
            }
            if admitted { continuation.resume() }
        }
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
        let (leftover, waiting) = state.withLock { state in
            state.stopped = true
            state.reserved += state.waitingForRoom.count
            defer {
                state.pending = []
                state.waitingForRoom = []
            }
            return (state.pending, state.waitingForRoom)
        }
        for pending in leftover { pending.continuation.resume(throwing: Failure.stopped) }
        for waiter in waiting { waiter.resume() }
    }

    private func drain() async {
        while true {
            let (batch, admitted): ([Pending], [CheckedContinuation<Void, Never>]) = state.withLock { state in
                let count = min(state.pending.count, maximumBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                var admitted: [CheckedContinuation<Void, Never>] = []
                while !state.waitingForRoom.isEmpty, state.pending.count + state.reserved < maximumPending {
                    admitted.append(state.waitingForRoom.removeFirst())
                    state.reserved += 1
                }
                return (batch, admitted)
            }
            for waiter in admitted { waiter.resume() }
            if batch.isEmpty { return }
            await commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) async {
        do {
            let results = try await writer.writeBatch { db in
                batch.map { pending in
                    Result<any Sendable, any Error> {
                        var value: (any Sendable)?
                        try Writer.inSavepoint(db) { value = try pending.job(db) }
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
