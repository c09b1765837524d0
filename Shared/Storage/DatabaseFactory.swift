import Foundation
import GRDB

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
}
