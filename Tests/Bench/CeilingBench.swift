import ArgumentParser
import Foundation
import GRDB
import Hummingbird
import HummingbirdWebSocket
import MostradorStorage

/// The HTTP ceiling for ingest: a Hummingbird server of our own that decodes the webhook's JSON and answers, with
/// nothing behind it. What `POST /webhook` could reach on this machine if storing and publishing cost nothing.
struct EchoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo", abstract: "HTTP ceiling: POST /webhook decodes the seed payload and answers JSON.")

    @Option var port = 18090

    struct Payload: Decodable {
        let remitente: String
        let contenido: String?
        let nombre: String?
        let idMensaje: String?

        enum CodingKeys: String, CodingKey {
            case remitente, contenido, nombre
            case idMensaje = "id_mensaje"
        }
    }

    struct Answer: ResponseEncodable {
        let status: String
        let remitente: String
    }

    func run() async throws {
        let router = Router()
        router.post("webhook") { request, context -> Answer in
            let payload = try await request.decode(as: Payload.self, context: context)
            return Answer(status: "recibido", remitente: payload.remitente)
        }
        router.get("health/ready") { _, _ in "ok" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}

/// The storage ceiling: raw inserts of a message-sized row into SQLite in WAL mode with `synchronous=FULL`, one
/// commit per row and then rows grouped into commits (what a group committer can reach with that many waiting).
struct SQLiteBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqlite", abstract: "Storage ceiling: SQLite inserts with synchronous=FULL, single and grouped.")

    @Option var directory = NSTemporaryDirectory()
    @Option(help: "Seconds per measurement.") var seconds = 3.0
    @Option(help: "Rows per commit in the grouped measurement.") var group = 64

    func run() async throws {
        let path = "\(directory)/sqlite-bench-\(UUID().uuidString.prefix(8)).sqlite"
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let pool = try DatabaseFactory.open(path: path, durability: .full)
        try await pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE messages (id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL, role TEXT NOT NULL,
                                           content TEXT NOT NULL, created_at DATETIME NOT NULL);
                    CREATE INDEX messages_ticket ON messages(ticket_id, id);
                    """)
        }
        for rows in [1, group] {
            let (count, elapsed) = try await measure(pool, rowsPerCommit: rows)
            let commits = Double(count / rows) / elapsed
            print(
                String(
                    format: "RESULT sqlite rows_per_commit=%d rows_per_s=%.0f commits_per_s=%.0f", rows,
                    Double(count) / elapsed, commits))
        }
    }

    private func measure(_ pool: DatabasePool, rowsPerCommit: Int) async throws -> (Int, Double) {
        let start = Date()
        var count = 0
        while Date().timeIntervalSince(start) < seconds {
            let first = count
            try await pool.write { db in
                let statement = try db.cachedStatement(
                    sql: "INSERT INTO messages (ticket_id, role, content, created_at) VALUES (?, 'user', ?, ?)")
                for index in 0..<rowsPerCommit {
                    try statement.execute(arguments: [
                        (first + index) % 1000, "la impresora no imprime, mensaje \(first + index)", Date(),
                    ])
                }
            }
            count += rowsPerCommit
        }
        return (count, Date().timeIntervalSince(start))
    }
}

/// The memory ceiling for idle WebSockets: a Hummingbird server of our own that upgrades `GET /ws` and holds the
/// socket, greeting it and reading whatever arrives, with nothing else per connection. What one idle socket costs the framework.
struct WebSocketBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "websocket", abstract: "WebSocket ceiling: upgrades GET /ws and holds idle sockets.")

    @Option var port = 18091

    func run() async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("ws") { inbound, outbound, _ in
            // The api greets each socket with one frame; so does this (the load client waits for it).
            try await outbound.write(.text(#"{"type":"connection_established"}"#))
            for try await _ in inbound {}
        }
        let http = Router()
        http.get("health/ready") { _, _ in "ok" }
        let app = Application(
            router: http,
            server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
