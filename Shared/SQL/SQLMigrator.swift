import Foundation
import GRDB
import MostradorStorage

/// Versioned schema changes, written once in SQLite's SQL and applied in order on either database. On SQLite they
/// are GRDB migrations (recorded in `grdb_migrations`, as before this layer); on PostgreSQL they are translated
/// (`PostgresSchema`) and recorded in `schema_migrations`, all pending ones in one transaction that holds the write
/// lock, so instances starting together apply each once.
public struct SQLMigrator: Sendable {
    public typealias Migration = @Sendable (Database) throws -> Void

    private var migrations: [(identifier: String, body: Migration)] = []

    public init() {}

    public mutating func registerMigration(_ identifier: String, migrate body: @escaping Migration) {
        migrations.append((identifier, body))
    }

    public var identifiers: [String] { migrations.map(\.identifier) }

    /// Applies what `database` has not applied yet. `path` is the SQLite file (its lock file serialises instances).
    public func migrate(_ database: SQLDatabase, sqlitePath path: String? = nil) async throws {
        switch database.backend {
        case .sqlite(let pool):
            var migrator = DatabaseMigrator()
            for (identifier, body) in migrations {
                migrator.registerMigration(identifier) { db in try body(Database(.sqlite(db))) }
            }
            if let path {
                try DatabaseFactory.migrate(migrator, pool, path: path)
            } else {
                try migrator.migrate(pool)
            }
        case .postgres:
            let migrations = migrations
            try await database.write { db in
                guard case .postgres(let session) = db.backend else { return }
                try session.simple(PostgresSchema.helpers)
                let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM schema_migrations"))
                for (identifier, body) in migrations where !applied.contains(identifier) {
                    try body(db)
                    try db.execute(
                        sql: "INSERT INTO schema_migrations (identifier, applied_at) VALUES (?, ?)",
                        arguments: [identifier, Date()])
                }
            }
        }
    }

    /// Migrations the database records that this binary does not have (an older version started on a database a
    /// newer one migrated).
    public func unknownMigrations(_ database: SQLDatabase) async throws -> Set<String> {
        let table = database.dialect == .sqlite ? "grdb_migrations" : "schema_migrations"
        let recorded = try await database.read { db in
            try Set(String.fetchAll(db, sql: "SELECT identifier FROM \(table)"))
        }
        return recorded.subtracting(identifiers)
    }
}
