import Foundation
import Logging
import MostradorSQL
import Testing

@testable import MostradorAPI

/// The data layer under the api: one set of calls over SQLite and PostgreSQL. The tests marked "PostgreSQL" run only
/// when `MOSTRADOR_TEST_DATABASE_URL` names a server (`.ci/run` does), and then against it, never a stand-in.
@Suite("One data layer over SQLite and PostgreSQL")
struct SQLDatabaseTests {
    static let logger = Logger(label: "sql-test")
    static var onPostgres: Bool { TestDatabases.postgresURL != nil }

    /// SQLite in a temporary folder, or a fresh schema of the test server; always closed and removed.
    static func withDatabase<T>(_ body: (SQLDatabase) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "mostrador-sql-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let url = try await TestDatabases.freshSchemaURL()
        let database = try await APIDatabase.open(
            dataDirectory: directory, url: url, durability: .normal, logger: logger)
        do {
            let value = try await body(database)
            await database.close()
            await TestDatabases.dispose(url)
            try? FileManager.default.removeItem(atPath: directory)
            return value
        } catch {
            await database.close()
            await TestDatabases.dispose(url)
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    @Test func valuesComeBackAsTheyWentIn() async throws {
        try await Self.withDatabase { database in
            let date = Date(timeIntervalSince1970: 1_800_000_000.5)
            let bytes = Data([0, 1, 2, 254, 255])
            let row = try await database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO audit_log (at, action, actor_name, target_id, ticket_id, details)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [date, "prueba", "Ñandú «ß» 😀 'quote'", nil, Int64.max, "x;y -- not a comment"])
                try db.execute(
                    sql: """
                        INSERT INTO outbox (message_id, exchange, routing_key, type, schema_version, body, created_at)
                        VALUES (?, 'e', 'k', 't', 1, ?, ?)
                        """, arguments: ["m-1", bytes, date])
                return try Row.fetchOne(
                    db,
                    sql: """
                        SELECT a.at, a.actor_name, a.target_id, a.ticket_id, a.details, o.body,
                               COUNT(*) OVER () AS n, 2.5 * 2 AS real_value, a.at < ? AS earlier
                        FROM audit_log a, outbox o WHERE a.action = ?
                        """, arguments: [date.addingTimeInterval(1), "prueba"])
            }
            let found = try #require(row)
            #expect(found["at"] as Date == date)
            #expect(found["actor_name"] as String == "Ñandú «ß» 😀 'quote'")
            #expect(found["target_id"] as String? == nil)
            #expect(found["ticket_id"] as Int64 == Int64.max)
            #expect(found["details"] as String == "x;y -- not a comment")
            #expect(found["body"] as Data == bytes)
            #expect(found["n"] as Int == 1)
            #expect(found["real_value"] as Double == 5)
            #expect(found["earlier"] as Bool == true)
        }
    }

    @Test func likeIgnoresCaseAndCollateNocaseToo() async throws {
        try await Self.withDatabase { database in
            let (liked, collated, sums) = try await database.write { db -> (Int?, Int?, Row?) in
                try db.execute(
                    sql: "INSERT INTO labels (name, color, created_at) VALUES (?, '#fff', ?), (?, '#000', ?)",
                    arguments: ["Urgente", Date(), "garantía", Date()])
                let liked = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM labels WHERE name LIKE ?", arguments: ["urg%"])
                let collated = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM labels WHERE name = ? COLLATE NOCASE", arguments: ["URGENTE"])
                let sums = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT SUM(color = '#fff') AS white, group_concat(id) AS ids, date(MIN(created_at)) AS day
                        FROM labels
                        """)
                return (liked, collated, sums)
            }
            #expect(liked == 1)
            #expect(collated == 1)
            #expect(sums?["white"] as Int? == 1)
            #expect((sums?["ids"] as String?)?.split(separator: ",").count == 2)
            #expect((sums?["day"] as String?)?.count == 10)
        }
    }

    /// A second label of the same name (in any case) is refused by the database itself, on both.
    @Test func aUniqueNocaseColumnRefusesTheSameNameInAnotherCase() async throws {
        try await Self.withDatabase { database in
            try await database.write { db in
                try db.execute(
                    sql: "INSERT INTO labels (name, color, created_at) VALUES ('Urgente', '#fff', ?)",
                    arguments: [Date()])
            }
            await #expect(throws: (any Error).self) {
                try await database.write { db in
                    try db.execute(
                        sql: "INSERT INTO labels (name, color, created_at) VALUES ('URGENTE', '#fff', ?)",
                        arguments: [Date()])
                }
            }
            let count = try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM labels") }
            #expect(count == 1)
        }
    }

    /// What a write closure read still holds when it commits, across processes on one database: two stores (two api
    /// instances) each add 1 to a number they read first, 40 times at once; none of the 80 updates is lost.
    @Test(.enabled(if: onPostgres, "PostgreSQL")) func writersOfTwoInstancesTakeTurns() async throws {
        let url = try #require(try await TestDatabases.freshSchemaURL())
        let first = try await APIDatabase.open(dataDirectory: "", url: url, logger: Self.logger)
        let second = try SQLDatabase.postgres(url: url, logger: Self.logger)
        try await first.write { db in
            try db.execute(sql: "INSERT INTO app_settings (key, value, updated_at) VALUES ('n', '0', '')")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<80 {
                let database = index.isMultiple(of: 2) ? first : second
                group.addTask {
                    try await database.write { db in
                        let value = Int(
                            try String.fetchOne(db, sql: "SELECT value FROM app_settings WHERE key = 'n'")!)!
                        Thread.sleep(forTimeInterval: 0.002)
                        try db.execute(
                            sql: "UPDATE app_settings SET value = ? WHERE key = 'n'", arguments: [String(value + 1)])
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = try await second.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM app_settings WHERE key = 'n'")
        }
        #expect(total == "80")
        await first.close()
        await second.close()
        await TestDatabases.dispose(url)
    }

    /// Instances started together on an empty database: each migration is applied once, none fails.
    @Test(.enabled(if: onPostgres, "PostgreSQL")) func instancesStartingTogetherMigrateOnce() async throws {
        let url = try #require(try await TestDatabases.freshSchemaURL())
        let failures = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    do {
                        let database = try await APIDatabase.open(dataDirectory: "", url: url, logger: Self.logger)
                        await database.close()
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
        }
        #expect(failures.isEmpty, "\(failures)")
        let database = try SQLDatabase.postgres(url: url, logger: Self.logger)
        let applied = try await database.read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM schema_migrations ORDER BY identifier")
        }
        #expect(applied == APIDatabase.migrator.identifiers.sorted())
        #expect(try await APIDatabase.unknownMigrations(database).isEmpty)
        await database.close()
        await TestDatabases.dispose(url)
    }

    /// A failing job inside a batch is undone alone: the others of its transaction commit (savepoints).
    @Test func aFailingJobOfABatchIsUndoneAloneOnBothDatabases() async throws {
        try await Self.withDatabase { database in
            let committer = SQLCommitter(writer: database, logger: Self.logger)
            let running = Task { try await committer.run() }
            defer { running.cancel() }
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            try await committer.write { db in
                                try db.execute(
                                    sql: "INSERT INTO app_settings (key, value, updated_at) VALUES (?, '1', '')",
                                    arguments: [index == 7 ? "k3" : "k\(index)"])
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { !$0 }.count == 1)
            let keys = try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM app_settings") }
            #expect(keys == 19)
        }
    }
}
