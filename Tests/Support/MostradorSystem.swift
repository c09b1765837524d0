import AMQPClient
import Foundation
import MostradorSQL
import Synchronization

/// The real executables (`mostrador-api`, `mostrador-bridge-relay`) against a fresh virtual host of the test
/// broker, a temporary data folder and a fake bridge: the system as an operator runs it, for end-to-end tests.
public final class MostradorSystem: @unchecked Sendable {
    public static let webhookToken = "webhook-secret"
    public static let adminUser = "admin"
    public static let adminPassword = "admin-password"

    public let bridge: FakeBridge
    public let amqp: AMQPConfiguration
    public let dataDirectory: String
    /// The api's PostgreSQL schema (nil: SQLite in `dataDirectory`).
    public let databaseURL: String?
    public private(set) var api: ServiceProcess
    public private(set) var relay: ServiceProcess?
    public private(set) var classifier: ServiceProcess?
    public private(set) var notifier: ServiceProcess?
    /// The admin's login, shared by every caller (tests send from many tasks at once; bcrypt costs ~0.1 s a login).
    private let adminLogin = Mutex<Task<String, any Error>?>(nil)

    public var amqpURL: String {
        "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(amqp.virtualHost)"
    }

    /// Runs `body` against a fresh system: the api and (unless `relay` is false) the relay, ready, plus the
    /// classifier and notifier when asked. Everything is stopped and awaited afterwards, also when `body` throws.
    public static func with<T>(
        relay: Bool = true, classifier: Bool = false, notifier: Bool = false, environment: [String: String] = [:],
        _ body: (MostradorSystem) async throws -> T
    ) async throws -> T {
        let system = try await MostradorSystem(
            relay: relay, classifier: classifier, notifier: notifier, environment: environment)
        do {
            let result = try await body(system)
            await system.stop()
            return result
        } catch {
            await system.stop()
            throw error
        }
    }

    /// Starts the api and (unless `relay` is false) the relay, and waits until both are ready; on failure stops
    /// what it started.
    private init(
        relay startRelay: Bool, classifier startClassifier: Bool, notifier startNotifier: Bool,
        environment: [String: String]
    ) async throws {
        bridge = try await FakeBridge()
        amqp = try await TestBroker.shared().freshVirtualHost("system")
        dataDirectory = NSTemporaryDirectory() + "mostrador-system-\(UUID().uuidString.prefix(8))"
        // With MOSTRADOR_TEST_DATABASE_URL the api keeps its data in a fresh schema on that PostgreSQL server.
        do {
            databaseURL = try await TestDatabases.freshSchemaURL()
        } catch {
            bridge.stop()
            throw error
        }
        environmentValues = Self.environment(
            amqpURL: "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(amqp.virtualHost)",
            dataDirectory: dataDirectory, bridge: bridge,
            extra: (databaseURL.map { ["MOSTRADOR_DATABASE_URL": $0] } ?? [:]).merging(environment) { _, new in new })
        do {
            api = try ServiceProcess("mostrador-api", environment: environmentValues)
        } catch {
            bridge.stop()
            throw error
        }
        do {
            try await Self.waitUntilReady(api)
            if startRelay { try await startRelayProcess() }
            if startNotifier { try await startNotifierProcess() }
            if startClassifier {
                var environment = environmentValues
                if environment["MOSTRADOR_CLASSIFIER_MODEL"] == nil, let model = await ClassifierModel.path() {
                    environment["MOSTRADOR_CLASSIFIER_MODEL"] = model
                }
                let process = try ServiceProcess("mostrador-classifier", environment: environment)
                classifier = process
                try await Self.waitUntilReady(process)
            }
        } catch {
            await stop()
            throw error
        }
    }

    /// A second api instance on the same database and broker (another port): for live fan-out across instances.
    public func startSecondAPI(environment extra: [String: String] = [:]) async throws -> ServiceProcess {
        let process = try ServiceProcess(
            "mostrador-api", environment: environmentValues.merging(extra) { _, new in new })
        extraProcesses.withLock { $0.append(process) }
        try await Self.waitUntilReady(process)
        return process
    }

    private let extraProcesses = Mutex([ServiceProcess]())

    /// Another relay on the same data folder (so the same ledger) and broker: it stands by while another sends.
    public func startAnotherRelay() async throws -> ServiceProcess {
        let process = try ServiceProcess("mostrador-bridge-relay", environment: environmentValues)
        extraProcesses.withLock { $0.append(process) }
        try await Self.waitUntilReady(process)
        return process
    }

    /// `ws://…/ws/soporte/ticket/{ticket}/?token=…` on `api` (the first instance by default).
    public func webSocketURL(ticket: String, token: String, on process: ServiceProcess? = nil) -> String {
        let base = (process ?? api).baseURL.replacingOccurrences(of: "http://", with: "ws://")
        return "\(base)/ws/soporte/ticket/\(ticket)/?token=\(token)"
    }

    public func startNotifierProcess() async throws {
        let process = try ServiceProcess("mostrador-notifier", environment: environmentValues)
        notifier = process
        try await Self.waitUntilReady(process)
    }

    /// Stops the api (SIGTERM) and starts it again on the same data: what survives a restart.
    public func restartAPI() async throws {
        _ = await api.terminate()
        api = try ServiceProcess("mostrador-api", environment: environmentValues)
        try await Self.waitUntilReady(api)
        adminLogin.withLock { $0 = nil }
    }

    private let environmentValues: [String: String]

    static func environment(amqpURL: String, dataDirectory: String, bridge: FakeBridge, extra: [String: String])
        -> [String: String]
    {
        [
            "MOSTRADOR_AMQP_URL": amqpURL,
            "MOSTRADOR_DATA_DIR": dataDirectory,
            "MOSTRADOR_WEBHOOK_TOKEN": Self.webhookToken,
            "MOSTRADOR_ADMIN_USER": Self.adminUser,
            "MOSTRADOR_ADMIN_PASSWORD": Self.adminPassword,
            "MOSTRADOR_BRIDGE_URL": bridge.url,
            "MOSTRADOR_BRIDGE_TOKEN": bridge.token,
            "MOSTRADOR_BRIDGE_PROBE_SECONDS": "0.3",
            "MOSTRADOR_RELAY_RATE": "0",
            "MOSTRADOR_INTAKE": "off",
            "MOSTRADOR_LOG_LEVEL": "info",
            // The seed's 5 s is a promise to a technician on a quiet machine. Under a parallel test run on two cores
            // the relay process can be starved for longer than that (a fresh-clone CI run answered 504 once), so
            // tests wait up to 20 s for a verdict; tests about the timeout itself set their own, shorter wait.
            "MOSTRADOR_SEND_WAIT_SECONDS": "20",
            // A CI machine may have little disk: the free-space watermark has its own tests.
            "MOSTRADOR_MIN_FREE_DISK_MB": "0",
        ].merging(extra) { _, new in new }
    }

    public func startRelayProcess() async throws {
        let process = try ServiceProcess("mostrador-bridge-relay", environment: environmentValues)
        relay = process
        try await Self.waitUntilReady(process)
    }

    static func waitUntilReady(_ process: ServiceProcess) async throws {
        // Generous: the process-level suites run side by side (brokers starting, several services each).
        let ready = await eventually(timeout: .seconds(90), poll: .milliseconds(50)) {
            (try? await HTTP.get("\(process.opsURL)/health/ready").status) == 200
        }
        guard ready else {
            struct NotReady: Error, CustomStringConvertible { let description: String }
            throw NotReady(description: "\(process.name) not ready:\n\(process.output)")
        }
    }

    /// Stops everything (SIGTERM, so the services drain).
    public func stop() async {
        for process in extraProcesses.withLock({ $0 }) { _ = await process.terminate() }
        _ = await notifier?.terminate()
        _ = await classifier?.terminate()
        _ = await relay?.terminate()
        _ = await api.terminate()
        bridge.stop()
        await TestDatabases.dispose(databaseURL)
    }

    // MARK: Talking to the api

    public var baseURL: String { api.baseURL }

    /// A customer message through the webhook, as the bridge sends it.
    public func webhook(_ body: [String: Any], token: String = MostradorSystem.webhookToken) async throws -> HTTPResult
    {
        try await HTTP.post("\(baseURL)/webhook", json: body, headers: ["Authorization": "Bearer \(token)"])
    }

    /// An admin session token: one login, whoever asks first; later and concurrent callers share it.
    public func adminToken() async throws -> String {
        let login = adminLogin.withLock { login in
            if let login { return login }
            let started = Task {
                let header = try await self.login(Self.adminUser, Self.adminPassword)
                return String(header.dropFirst("Token ".count))
            }
            login = started
            return started
        }
        do {
            return try await login.value
        } catch {
            adminLogin.withLock { if $0 == login { $0 = nil } }
            throw error
        }
    }

    public func get(_ path: String) async throws -> HTTPResult {
        try await HTTP.get("\(baseURL)\(path)", headers: ["Authorization": "Token \(try await adminToken())"])
    }

    public func post(_ path: String, json: Any) async throws -> HTTPResult {
        try await HTTP.post(
            "\(baseURL)\(path)", json: json, headers: ["Authorization": "Token \(try await adminToken())"])
    }

    /// Any request with an `Authorization` header (or none), JSON body when given.
    public func call(_ method: String, _ path: String, authorization: String?, json: Any? = nil) async throws
        -> HTTPResult
    {
        var headers = authorization.map { ["Authorization": $0] } ?? [:]
        var body: Data?
        if let json {
            headers["Content-Type"] = "application/json"
            body = try JSONSerialization.data(withJSONObject: json)
        }
        return try await HTTP.request(method, "\(baseURL)\(path)", headers: headers, body: body)
    }

    /// Logs in as `username` and returns the `Token …` header value.
    public func login(_ username: String, _ password: String) async throws -> String {
        struct Login: Decodable { let token: String }
        let response = try await HTTP.post(
            "\(baseURL)/api/auth/login/", json: ["username": username, "password": password])
        return "Token \(try response.decode(Login.self).token)"
    }

    /// A web visitor's chat through the seed's two steps; returns the room id and the `Room …` header value.
    public func guestChat(
        _ initial: String = "Hola, necesito ayuda con mi pedido", name: String = "Juan Pérez",
        email: String = "usuario@ejemplo.com", phone: String = "+1234567890"
    ) async throws
        -> (room: String, authorization: String)
    {
        struct Started: Decodable {
            let sessionID: String
            enum CodingKeys: String, CodingKey { case sessionID = "session_id" }
        }
        struct Completed: Decodable {
            let room: String
            let token: String
            enum CodingKeys: String, CodingKey {
                case room = "chat_room_id"
                case token = "room_token"
            }
        }
        let started = try await HTTP.post("\(baseURL)/api/chat/start_chat/", json: ["initial_message": initial])
        let completed = try await HTTP.post(
            "\(baseURL)/api/chat/complete_chat/",
            json: [
                "session_id": try started.decode(Started.self).sessionID, "email": email, "full_name": name,
                "phone_number": phone, "recaptcha_token": "abc123def456",
            ]
        ).decode(Completed.self)
        return (completed.room, "Room \(completed.token)")
    }

    /// The seed's `historial` of a ticket.
    public func history(_ ticketID: Int) async throws -> [HistoryEntry] {
        try await get("/ticket/\(ticketID)/conversacion").decode(Conversation.self).historial
    }

    /// `POST /webhook` as the bridge sends it; returns the ticket the message landed on.
    public func receive(_ body: [String: Any]) async throws -> Int {
        try await webhook(body).decode(WebhookReceipt.self).ticketID
    }
}
