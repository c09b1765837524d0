import Foundation
import Logging

/// Databases for tests: an SQLite file in a folder, or — when `MOSTRADOR_TEST_DATABASE_URL` names a PostgreSQL
/// server — a fresh schema of its own on that server, dropped by `dispose`. The whole suite runs on either.
public enum TestDatabases {
    /// The server tests use, if any (`postgres://…`).
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["MOSTRADOR_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A new, empty schema's URL on the test server (nil: use SQLite).
    public static func freshSchemaURL() async throws -> String? {
        guard let base = postgresURL else { return nil }
        let schema = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try SQLDatabase.postgres(url: base, connections: 1, logger: Logger(label: "test-databases"))
        do {
            try await admin.write { db in try db.execute(sql: "CREATE SCHEMA \(schema)") }
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
        return base + (base.contains("?") ? "&" : "?") + "search_path=\(schema)&pool_size=3"
    }

    /// Drops the schema of a URL `freshSchemaURL` gave.
    public static func dispose(_ url: String?) async {
        guard let url, let base = postgresURL,
            let schema = URLComponents(string: url)?.queryItems?.first(where: { $0.name == "search_path" })?.value
        else { return }
        guard let admin = try? SQLDatabase.postgres(url: base, connections: 1, logger: Logger(label: "test-databases"))
        else { return }
        _ = try? await admin.write { db in try db.execute(sql: "DROP SCHEMA \(schema) CASCADE") }
        await admin.close()
    }
}
