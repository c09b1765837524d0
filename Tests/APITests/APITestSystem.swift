import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Logging
import MostradorContracts
import MostradorSQL
import NIOCore
import Synchronization
import Testing

@testable import MostradorAPI

/// Live announcements, recorded instead of published on the broker, and handed in order to this instance's hub
/// (`announced`), as the broker's fan-out does for every instance.
final class RecordingLive: LivePublisher {
    private let events = Mutex<[LiveEvent]>([])
    let announced: AsyncStream<LiveEvent>
    private let announce: AsyncStream<LiveEvent>.Continuation

    init() { (announced, announce) = AsyncStream.makeStream() }

    func send(_ event: LiveEvent) {
        events.withLock { $0.append(event) }
        announce.yield(event)
    }
    var recorded: [LiveEvent] { events.withLock { $0 } }
    func finish() { announce.finish() }
}

/// A clock the test moves by hand (expiry without sleeping).
final class TestClock: Sendable {
    private let current = Mutex(Date())
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var wallClock: WallClock { WallClock { self.current.withLock { $0 } } }
}

/// The api's router in process, on a real SQLite file in a temporary folder, with a recording live publisher.
/// Requests go through `app.test(.router)`: no sockets, no broker, no child process. With `.live` the same
/// application listens on a local port, WebSocket upgrades included (`webSocketURL`).
/// One set of bcrypt threads for every api of the test process: dozens of apis run at once, and a pool each (one
/// thread per core) would crowd the two cooperative threads out. Tests of the pool itself configure their own.
let sharedPasswords = PasswordHasher(threads: 2, queueLimit: 100_000)

struct APITestSystem {
    static let webhookToken = "test-webhook-token"
    static let adminUser = "admin"
    static let adminPassword = "admin-password"

    let client: any TestClientProtocol
    let components: APIComponents
    let live: RecordingLive
    let clock: TestClock
    let directory: String
    let hub: LiveHub

    var pool: SQLDatabase { components.pool }

    /// Runs `body` against a fresh api; everything it created is removed afterwards, whatever happened.
    /// `transport` is `.router` (no sockets) unless a test needs a real connection, e.g. a client IP (`.live`).
    static func with<T: Sendable>(
        transport: TestingSetup = .router, configure: (inout APISettings) -> Void = { _ in },
        _ body: @Sendable (APITestSystem) async throws -> T
    ) async throws -> T {
        let directory = NSTemporaryDirectory() + "mostrador-api-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = APISettings()
        settings.webhookToken = webhookToken
        settings.guestChatsPerIP = 100_000
        settings.sendWait = .milliseconds(50)
        // A CI machine may have little disk: the free-space watermark has its own tests (`GuestAbuseTests`).
        settings.minimumFreeDiskBytes = 0
        let defaults = settings
        configure(&settings)
        let live = RecordingLive()
        let clock = TestClock()
        var logger = Logger(label: "api-test")
        logger.logLevel =
            ProcessInfo.processInfo.environment["MOSTRADOR_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) }
            ?? .critical
        // SQLite in the folder, or a fresh schema on MOSTRADOR_TEST_DATABASE_URL's PostgreSQL server.
        let databaseURL = try await TestDatabases.freshSchemaURL()
        let pool = try await APIDatabase.open(
            dataDirectory: directory, url: databaseURL, durability: .normal, logger: logger)
        do {
            let value = try await run(
                settings: settings, defaults: defaults, pool: pool, directory: directory, live: live, clock: clock,
                logger: logger, transport: transport, body)
            await pool.close()
            await TestDatabases.dispose(databaseURL)
            return value
        } catch {
            await pool.close()
            await TestDatabases.dispose(databaseURL)
            throw error
        }
    }

    private static func run<T: Sendable>(
        settings: APISettings, defaults: APISettings, pool: SQLDatabase, directory: String, live: RecordingLive,
        clock: TestClock, logger: Logger, transport: TestingSetup, _ body: @Sendable (APITestSystem) async throws -> T
    ) async throws -> T {
        let components = try await APIComponents(
            settings: settings, pool: pool,
            dataDirectory: directory, live: live, logger: logger, clock: clock.wallClock,
            passwords: settings.bcryptThreads == defaults.bcryptThreads && settings.bcryptQueue == defaults.bcryptQueue
                ? sharedPasswords : nil)
        try await components.agents.bootstrapAdmin(username: adminUser, password: adminPassword)
        let hub = LiveHub(messages: components.conversations.messages, logger: logger)
        let app = Application(
            router: buildRouter(components),
            server: .http1WebSocketUpgrade(webSocketRouter: buildWebSocketRouter(components, hub: hub)),
            logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            // The group committer is the api's single writer: it runs beside the router, as in the service.
            group.addTask { try await components.committer.run() }
            group.addTask { for await event in live.announced { await hub.handle(event) } }
            defer {
                live.finish()
                group.cancelAll()
            }
            return try await app.test(transport) { client in
                try await body(
                    APITestSystem(
                        client: client, components: components, live: live, clock: clock, directory: directory,
                        hub: hub))
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
        func decode<T: Decodable>(_: T.Type) throws -> T {
            do {
                return try JSONDecoder().decode(T.self, from: body)
            } catch {
                throw Undecodable(description: "\(T.self) from \(status) \(text): \(error)")
            }
        }
        /// The JSON error body (`detail`/`error`) of a refused request.
        var failure: Answer.Failure? { try? decode(Answer.Failure.self) }

        struct Undecodable: Error, CustomStringConvertible { let description: String }
    }

    func call(
        _ method: HTTPRequest.Method, _ path: String, authorization: String? = nil, json: Any? = nil,
        body raw: Data? = nil, contentType: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
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

    /// `ws://…/ws/soporte/ticket/{ticket}/?token=…` (only with `transport: .live`).
    func webSocketURL(ticket: String, token: String) throws -> String {
        let port = try #require(client.port, "WebSocket tests need APITestSystem.with(transport: .live)")
        return "ws://localhost:\(port)/ws/soporte/ticket/\(ticket)/?token=\(token)"
    }

    // MARK: People

    func login(_ username: String, _ password: String) async throws -> String {
        let reply = try await call(.post, "/api/auth/login/", json: ["username": username, "password": password])
        return "Token \(try reply.decode(Answer.Login.self).token)"
    }

    func admin() async throws -> String { try await login(Self.adminUser, Self.adminPassword) }

    /// A new technician; returns their `Authorization` value and agent UUID.
    func agent(_ username: String) async throws -> (authorization: String, id: String) {
        let created = try await call(
            .post, "/api/agents/", authorization: try await admin(),
            json: ["username": username, "password": "password123", "first_name": username])
        try #require(created.status == 201, Comment(rawValue: created.text))
        return (try await login(username, "password123"), try created.decode(Answer.Agent.self).id)
    }

    /// A web visitor's chat through seed 002's two steps.
    func guestChat(
        _ initial: String = "Hola, necesito ayuda", name: String = "Visitante Web",
        email: String = "visitante@ejemplo.com", phone: String = "+5215550009999"
    ) async throws -> (room: String, authorization: String, ticket: Int64) {
        let started = try await call(.post, "/api/chat/start_chat/", json: ["initial_message": initial])
        let session = try started.decode(Answer.StartedChat.self).sessionID
        let completed = try await call(
            .post, "/api/chat/complete_chat/",
            json: ["session_id": session, "email": email, "full_name": name, "phone_number": phone])
        let chat = try completed.decode(Answer.CompletedChat.self)
        let ticket = try #require(try await components.conversations.tickets.facts(key: chat.chatRoomID)?.id)
        return (chat.chatRoomID, "Room \(chat.roomToken)", ticket)
    }

    /// A WhatsApp message through the seed bridge's webhook; returns the ticket it landed on.
    @discardableResult
    func whatsapp(_ sender: String, _ text: String, name: String? = nil) async throws -> Int64 {
        var payload: [String: Any] = ["remitente": sender, "contenido": text]
        if let name { payload["nombre"] = name }
        let reply = try await call(.post, "/webhook", authorization: "Bearer \(Self.webhookToken)", json: payload)
        try #require(reply.status == 200, Comment(rawValue: reply.text))
        return try reply.decode(Answer.Received.self).ticketID
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
