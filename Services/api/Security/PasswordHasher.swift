import Foundation
import Hummingbird
import HummingbirdBcrypt
import NIOPosix
import ServiceLifecycle
import Synchronization

/// bcrypt on threads of its own with a bounded queue, so a login flood costs logins only: static files
/// (`FileMiddleware` on `NIOThreadPool.singleton`), the database and everything else never wait behind it. When
/// every thread is busy and `queueLimit` jobs already wait, a new job is refused at once (`busy`, a 429) instead of
/// queueing. A service: the pool stops with the application (and, as a safety net, when the hasher goes away).
final class PasswordHasher: Service {
    /// What a job gets when every bcrypt thread is busy and the queue is full: 429, try again in a second.
    static let busy = APIError(
        status: .tooManyRequests, detail: "El servidor está ocupado. Intenta de nuevo en un momento.",
        headers: [.retryAfter: "1"])

    let threads: Int
    let queueLimit: Int
    let cost: UInt8
    /// bcrypt of a random string nobody knows, verified against when a username does not exist so that timing does
    /// not tell which usernames do. Started at creation on the bcrypt threads (not on the first probe, and not on the
    /// caller's thread, which may be one of the few cooperative threads).
    private let decoy: Task<String, any Error>
    private let pool: NIOThreadPool
    /// Jobs admitted and not finished: running plus waiting.
    private let admitted = Atomic<Int>(0)

    init(threads: Int, queueLimit: Int, cost: UInt8 = 10) {
        precondition(threads > 0 && queueLimit >= 0, "bcrypt needs at least one thread")
        self.threads = threads
        self.queueLimit = queueLimit
        self.cost = cost
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        decoy = Task { [pool] in try await pool.runIfActive { Bcrypt.hash(UUID().uuidString, cost: cost) } }
    }

    /// The decoy hash (waits for it only in the moment after start).
    var decoyHash: String { get async throws { try await decoy.value } }

    deinit { pool.shutdownGracefully { _ in } }

    /// The bcrypt hash of `password`.
    func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await submit { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; with no hash (an unknown user), the same work against the decoy, false.
    func verify(_ password: String, against hash: String?) async throws -> Bool {
        let against: String
        if let hash { against = hash } else { against = try await decoyHash }
        return try await submit { Bcrypt.verify(password, hash: against) && hash != nil }
    }

    /// Jobs running or waiting now.
    var outstanding: Int { admitted.load(ordering: .relaxed) }

    /// Waits for the application to stop, then stops the threads (running jobs finish, waiting ones fail).
    func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdownGracefully()
    }

    /// Runs `work` on the bcrypt threads under the same admission as hashing (throws `busy` when full).
    func submit<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let count = admitted.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        defer { admitted.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
        guard count <= threads + queueLimit else { throw Self.busy }
        return try await pool.runIfActive(work)
    }
}
