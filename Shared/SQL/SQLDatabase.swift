import Foundation
import GRDB
import Logging
import MostradorStorage
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The database a service keeps its state in: an SQLite file (the default, embedded) or a PostgreSQL server
/// (several api instances on several machines). Both are used through the same calls: `read` runs a closure in a
/// read-only transaction that sees one snapshot, `write` in a transaction that commits when the closure returns.
public final class SQLDatabase: Sendable {
    enum Backend: Sendable {
        case sqlite(DatabasePool)
        case postgres(PostgresStore)
    }

    let backend: Backend

    public init(sqlite pool: DatabasePool) { backend = .sqlite(pool) }

    init(postgres store: PostgresStore) { backend = .postgres(store) }

    /// A PostgreSQL database at `url` (`postgres://user:password@host:port/database`, or `?host=/run/postgresql`
    /// for a Unix socket; `?search_path=schema` for a schema of its own), with at most `connections` open at once.
    /// `?pool_size=N` in the URL sets `connections`.
    public static func postgres(url: String, connections: Int = 8, logger: Logger) throws -> SQLDatabase {
        let size = URLComponents(string: url)?.queryItems?.first { $0.name == "pool_size" }?.value.flatMap { Int($0) }
        return SQLDatabase(postgres: try PostgresStore(url: url, connections: size ?? connections, logger: logger))
    }

    public var dialect: SQLDialect {
        switch backend {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    public func read<Value: Sendable>(_ body: @escaping @Sendable (Database) throws -> Value) async throws -> Value {
        switch backend {
        case .sqlite(let pool): try await pool.read { db in try body(Database(.sqlite(db))) }
        case .postgres(let store): try await store.transaction(readOnly: true, body)
        }
    }

    public func write<Value: Sendable>(_ body: @escaping @Sendable (Database) throws -> Value) async throws -> Value {
        switch backend {
        case .sqlite(let pool): try await pool.write { db in try body(Database(.sqlite(db))) }
        case .postgres(let store): try await store.transaction(readOnly: false, body)
        }
    }

    /// Closes PostgreSQL's connections (SQLite's close with the pool).
    public func close() async {
        if case .postgres(let store) = backend { await store.close() }
    }
}

extension SQLDatabase: TransactionWriter {
    public func writeBatch<Value: Sendable>(_ body: @escaping @Sendable (Database) throws -> Value) async throws
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

/// The commit batcher over either database.
public typealias SQLCommitter = GroupCommitter<SQLDatabase>

/// A few PostgreSQL connections shared by the tasks of one process. Statements run on threads of its own (see
/// `PostgresSession`); a writer holds a transaction-level advisory lock, so writes take turns across every process
/// on the database as they do on an SQLite file, and what the data code checks before it writes still holds when
/// it commits.
final class PostgresStore: Sendable {
    /// The advisory lock every write transaction holds ("MOST" in ASCII), with the schema's hash as its second key:
    /// apis on one schema take turns, tenants (and tests) on other schemas of one server do not wait for each other.
    static let writeLock: Int32 = 0x4D4F_5354

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let configuration: PostgresConnection.Configuration
    private let size: Int
    private let threads: NIOThreadPool
    private let state = Mutex(State())
    private let logger: Logger
    private let ids = Atomic<Int>(0)

    init(url: String, connections: Int, logger: Logger) throws {
        configuration = try Self.configuration(url: url)
        size = max(1, connections)
        threads = NIOThreadPool(numberOfThreads: size)
        threads.start()
        self.logger = logger
    }

    static func configuration(url: String) throws -> PostgresConnection.Configuration {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme)
        else { throw SQLDatabaseError.badURL("not a postgres:// URL") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        var configuration: PostgresConnection.Configuration
        if let socketFolder = query["host"], socketFolder.hasPrefix("/") {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: "\(socketFolder)/.s.PGSQL.\(components.port ?? 5432)", username: username,
                password: password, database: database.isEmpty ? nil : database)
        } else {
            guard let host = components.host, !host.isEmpty else { throw SQLDatabaseError.badURL("no host") }
            configuration = PostgresConnection.Configuration(
                host: host, port: components.port ?? 5432, username: username, password: password,
                database: database.isEmpty ? nil : database, tls: .disable)
        }
        // A schema of its own (`?search_path=tenant`): tests give each api a fresh one on one server.
        if let schema = query["search_path"], !schema.isEmpty {
            configuration.options.additionalStartupParameters.append(("search_path", schema))
        }
        return configuration
    }

    func transaction<Value: Sendable>(
        readOnly: Bool, _ body: @escaping @Sendable (Database) throws -> Value
    ) async throws -> Value {
        let connection = try await acquire()
        defer { release(connection) }
        let logger = logger
        return try await threads.runIfActive {
            let session = PostgresSession(connection: connection, logger: logger)
            try session.simple(
                readOnly
                    ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                    : "BEGIN; SELECT pg_advisory_xact_lock(\(Self.writeLock), hashtext(current_schema()))")
            do {
                let value = try body(Database(.postgres(session)))
                try session.simple("COMMIT")
                return value
            } catch {
                try? session.simple("ROLLBACK")
                throw error
            }
        }
    }

    private func acquire() async throws -> PostgresConnection {
        enum Step {
            case use(PostgresConnection)
            case open
        }
        while true {
            let step: Step? = state.withLock { state in
                if let connection = state.idle.popLast() { return .use(connection) }
                guard state.open < size else { return nil }
                state.open += 1
                return .open
            }
            switch step {
            case .use(let connection):
                if !connection.isClosed { return connection }
                forget()
            case .open:
                do {
                    return try await PostgresConnection.connect(
                        on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                        id: ids.add(1, ordering: .relaxed).newValue, logger: logger
                    ).get()
                } catch {
                    forget()
                    throw SQLDatabaseError.unreachable("\(String(reflecting: error))")
                }
            case nil:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let queued = state.withLock { state in
                        guard state.idle.isEmpty, state.open >= size else { return false }
                        state.waiting.append(continuation)
                        return true
                    }
                    if !queued { continuation.resume() }
                }
            }
        }
    }

    private func release(_ connection: PostgresConnection) {
        let waiter = state.withLock { state in
            if connection.isClosed {
                state.open -= 1
            } else {
                state.idle.append(connection)
            }
            return state.waiting.isEmpty ? nil : state.waiting.removeFirst()
        }
        waiter?.resume()
    }

    /// A connection that closed: room for a new one.
    private func forget() {
        let waiter = state.withLock { state in
            state.open -= 1
            return state.waiting.isEmpty ? nil : state.waiting.removeFirst()
        }
        waiter?.resume()
    }

    deinit {
        // Connections must be closed before they go; `close()` does it in order, this is the safety net.
        for connection in state.withLock({ $0.idle }) { connection.close().whenComplete { _ in } }
        threads.shutdownGracefully { _ in }
    }

    func close() async {
        let idle = state.withLock { state in
            defer { state.idle = [] }
            return state.idle
        }
        for connection in idle { try? await connection.close() }
        try? await threads.shutdownGracefully()
    }
}

public enum SQLDatabaseError: Error, CustomStringConvertible {
    case badURL(String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .badURL(let reason): "MOSTRADOR_DATABASE_URL: \(reason)"
        case .unreachable(let reason): "could not connect to PostgreSQL: \(reason)"
        }
    }
}
