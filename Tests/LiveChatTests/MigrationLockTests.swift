import Foundation
import GRDB
import Testing

@testable import MostradorAPI

/// Api instances share one data folder; started together on a new (or just upgraded) database, they must not race
/// on the schema: one applies each migration, the others wait for its lock and find it applied.
@Suite struct MigrationLockTests {
    @Test func instancesOpeningANewDatabaseAtOnceAllStartAndTheSchemaIsAppliedOnce() async throws {
        for round in 0..<4 {
            let directory = NSTemporaryDirectory() + "mostrador-migrate-\(UUID().uuidString.prefix(8))"
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do {
                            _ = try APIDatabase.open(dataDirectory: directory, durability: .normal)
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
            }
            #expect(failures.isEmpty, "round \(round): \(failures)")
            let pool = try APIDatabase.open(dataDirectory: directory, durability: .normal)
            let applied = try await pool.read { try APIDatabase.migrator.appliedIdentifiers($0) }
            #expect(applied == Set(APIDatabase.migrator.migrations))
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func migrationsOfANewerVersionAreNamed() async throws {
        let directory = NSTemporaryDirectory() + "mostrador-migrate-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pool = try APIDatabase.open(dataDirectory: directory, durability: .normal)
        #expect(try APIDatabase.unknownMigrations(pool).isEmpty)
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        #expect(try APIDatabase.unknownMigrations(pool) == ["v99: from the future"])
    }
}
