import Foundation
import Logging
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Api instances share one data folder; started together on a new (or just upgraded) database, they must not race
/// on the schema: one applies each migration, the others wait for its lock and find it applied.
@Suite struct MigrationLockTests {
    static let logger = Logger(label: "migration-test")

    @Test func instancesOpeningANewDatabaseAtOnceAllStartAndTheSchemaIsAppliedOnce() async throws {
        for round in 0..<4 {
            let directory = NSTemporaryDirectory() + "mostrador-migrate-\(UUID().uuidString.prefix(8))"
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do {
                            _ = try await APIDatabase.open(
                                dataDirectory: directory, durability: .normal, logger: Self.logger)
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
            }
            #expect(failures.isEmpty, "round \(round): \(failures)")
            let pool = try await APIDatabase.open(dataDirectory: directory, durability: .normal, logger: Self.logger)
            let applied = try await pool.read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
            }
            #expect(applied == APIDatabase.migrator.identifiers)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func migrationsOfANewerVersionAreNamed() async throws {
        let directory = NSTemporaryDirectory() + "mostrador-migrate-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pool = try await APIDatabase.open(dataDirectory: directory, durability: .normal, logger: Self.logger)
        #expect(try await APIDatabase.unknownMigrations(pool).isEmpty)
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        #expect(try await APIDatabase.unknownMigrations(pool) == ["v99: from the future"])
    }
}
