import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MostradorContracts
import NIOCore
import Synchronization
import Testing

@testable import MostradorAPI

/// Live announcements, recorded instead of published on the broker.
final class RecordingLive: LivePublisher {
    private let events = Mutex<[LiveEvent]>([])
    func send(_ event: LiveEvent) { events.withLock { $0.append(event) } }
    var recorded: [LiveEvent] { events.withLock { $0 } }
}

/// A clock the test moves by hand (expiry without sleeping).
final class TestClock: Sendable {
    private let current = Mutex(Date())
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var wallClock: WallClock { WallClock { self.current.withLock { $0 } } }
}

/// The api's router in process, on a real SQLite file in a temporary folder, with a recording live publisher.
/// Requests go through `app.test(.router)`: no sockets, no broker, no child process.
struct APITestSystem {
    static let webhookToken = "test-webhook-token"
    static let adminUser = "admin"
    static let adminPassword = "admin-password"

    let client: any TestClientProtocol
    let components: APIComponents
    let live: RecordingLive
    let clock: TestClock
    let directory: String

    var pool: DatabasePool { components.pool }

    /// Runs `body` against a fresh api; everything it created is removed afterwards, whatever happened.
    static func with<T: Sendable>(
        configure: (inout APISettings) -> Void = { _ in }, _ body: @Sendable (APITestSystem) async throws -> T
    ) async throws -> T {
        let directory = NSTemporaryDirectory() + "mostrador-api-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = APISettings()
        settings.webhookToken = webhookToken
        settings.guestChatsPerIP = 100_000
        settings.sendWait = .milliseconds(50)
        configure(&settings)
        let live = RecordingLive()
        let clock = TestClock()
        var logger = Logger(label: "api-test")
        logger.logLevel = .critical
        let components = try APIComponents(
            settings: settings, pool: try APIDatabase.open(dataDirectory: directory, durability: .normal),
            dataDirectory: directory, live: live, logger: logger, clock: clock.wallClock)
        try await components.agents.bootstrapAdmin(username: adminUser, password: adminPassword)
        let app = Application(router: buildRouter(components), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            // The group committer is the api's single writer: it runs beside the router, as in the service.
            group.addTask { try await components.committer.run() }
            defer { group.cancelAll() }
            return try await app.test(.router) { client in
                try await body(
                    APITestSystem(
                        client: client, components: components, live: live, clock: clock, directory: directory))
            }
        }
    }

    // MARK: HTTP

    struct Reply: Sendable {
        let status: Int
        let body: Data
        let headers: HTTPFields

        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any], Comment(rawValue: text))
        }
        func list() throws -> [[String: Any]] {
            try #require(try JSONSerialization.jsonObject(with: body) as? [[String: Any]], Comment(rawValue: text))
        }
        func decode<T: Decodable>(_: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: body) }
    }

    func call(
        _ method: HTTPRequest.Method, _ path: String, authorization: String? = nil, json: Any? = nil,
        body raw: Data? = nil, contentType: String? = nil
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let authorization { headers[.authorization] = authorization }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        } else if let raw {
            buffer = ByteBuffer(data: raw)
            headers[.contentType] = contentType ?? "application/json"
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: buffer)
        return Reply(status: Int(response.status.code), body: Data(buffer: response.body), headers: response.headers)
    }

    // MARK: People

    func login(_ username: String, _ password: String) async throws -> String {
        let reply = try await call(.post, "/api/auth/login/", json: ["username": username, "password": password])
        let token = try #require(try reply.json()["token"] as? String, Comment(rawValue: reply.text))
        return "Token \(token)"
    }

    func admin() async throws -> String { try await login(Self.adminUser, Self.adminPassword) }

    /// A new technician; returns their `Authorization` value and agent UUID.
    func agent(_ username: String) async throws -> (authorization: String, id: String) {
        let created = try await call(
            .post, "/api/agents/", authorization: try await admin(),
            json: ["username": username, "password": "password123", "first_name": username])
        try #require(created.status == 201, Comment(rawValue: created.text))
        return (try await login(username, "password123"), try #require(try created.json()["id"] as? String))
    }

    /// A web visitor's chat through seed 002's two steps.
    func guestChat(
        _ initial: String = "Hola, necesito ayuda", name: String = "Visitante Web",
        email: String = "visitante@ejemplo.com", phone: String = "+5215550009999"
    ) async throws -> (room: String, authorization: String, ticket: Int64) {
        let started = try await call(.post, "/api/chat/start_chat/", json: ["initial_message": initial])
        let session = try #require(try started.json()["session_id"] as? String, Comment(rawValue: started.text))
        let completed = try await call(
            .post, "/api/chat/complete_chat/",
            json: ["session_id": session, "email": email, "full_name": name, "phone_number": phone])
        let body = try completed.json()
        let room = try #require(body["chat_room_id"] as? String, Comment(rawValue: completed.text))
        let token = try #require(body["room_token"] as? String)
        let ticket = try #require(try await components.conversations.tickets.facts(key: room)?.id)
        return (room, "Room \(token)", ticket)
    }

    /// A WhatsApp message through the seed bridge's webhook; returns the ticket it landed on.
    @discardableResult
    func whatsapp(_ sender: String, _ text: String, name: String? = nil) async throws -> Int64 {
        var payload: [String: Any] = ["remitente": sender, "contenido": text]
        if let name { payload["nombre"] = name }
        let reply = try await call(.post, "/webhook", authorization: "Bearer \(Self.webhookToken)", json: payload)
        try #require(reply.status == 200, Comment(rawValue: reply.text))
        return try #require(try reply.json()["ticket_id"] as? Int).int64
    }

    // MARK: What left through the outbox

    /// Every `relay.send` command written so far, oldest first.
    func relaySends() async throws -> [RelaySend] {
        try await outbox(RelaySend.self)
    }

    func outbox<T: MessageContract>(_: T.Type) async throws -> [T] {
        let bodies = try await pool.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM outbox WHERE type = ? ORDER BY id", arguments: [T.type])
        }
        return try bodies.map { try ContractCoding.sharedDecoder.decode(T.self, from: $0) }
    }
}

extension Int {
    var int64: Int64 { Int64(self) }
}
