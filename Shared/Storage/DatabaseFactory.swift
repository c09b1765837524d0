import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// Opens SQLite databases the way every Mostrador store wants them.
public enum DatabaseFactory {
    /// How much a commit must survive.
    public enum Durability: Sendable {
        /// `synchronous=FULL`: a commit survives power loss (fsync per commit; group commits amortise it).
        case full
        /// `synchronous=NORMAL`: a commit survives a crash of the process, not of the machine.
        case normal
    }

    /// A WAL-mode pool with foreign keys on and a busy timeout, creating the folder if needed.
    public static func open(path: String, durability: Durability = .full) throws -> DatabasePool {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 8
        let pool = try DatabasePool(path: path, configuration: configuration)
        // After the pool is open: GRDB switches its writer to `synchronous=NORMAL` when it enables WAL, after any
        // `prepareDatabase` hook has run. Only the writer commits, so only its setting matters.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        }
        return pool
    }

    /// Runs `migrator` on `pool` holding an exclusive lock on `<path>.migrate.lock`: processes that open one database
    /// at once (api instances sharing a data folder, started together or after an upgrade) apply each migration
    /// once — the others wait for the lock, then find it applied. Without it the loser of the race failed at start
    /// with "table … already exists".
    public static func migrate(_ migrator: DatabaseMigrator, _ pool: DatabasePool, path: String) throws {
        let descriptor = Glibc.open(path + ".migrate.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
        try migrator.migrate(pool)
    }
}
