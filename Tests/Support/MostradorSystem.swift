import AMQPClient
import Foundation
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
    public private(set) var api: ServiceProcess
    public private(set) var relay: ServiceProcess?
    public private(set) var classifier: ServiceProcess?
    public private(set) var notifier: ServiceProcess?
    private var token: String?

    public var amqpURL: String {
        "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(amqp.virtualHost)"
    }

    /// Starts the api and (unless `relay` is false) the relay, and waits until both are ready.
    public init(
        relay startRelay: Bool = true, classifier startClassifier: Bool = false, notifier startNotifier: Bool = false,
        environment: [String: String] = [:]
    ) async throws {
        bridge = try await FakeBridge()
        amqp = try await TestBroker.shared().freshVirtualHost("system")
        dataDirectory = NSTemporaryDirectory() + "mostrador-system-\(UUID().uuidString.prefix(8))"
        environmentValues = Self.environment(
            amqpURL: "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(amqp.virtualHost)",
            dataDirectory: dataDirectory, bridge: bridge, extra: environment)
        api = try ServiceProcess("mostrador-api", environment: environmentValues)
        try await Self.waitUntilReady(api)
        if startRelay { try await startRelayProcess() }
        if startNotifier { try await startNotifierProcess() }
        if startClassifier {
            let process = try ServiceProcess("mostrador-classifier", environment: environmentValues)
            classifier = process
            try await Self.waitUntilReady(process)
        }
    }

    /// A second api instance on the same database and broker (another port): for live fan-out across instances.
    public func startSecondAPI() async throws -> ServiceProcess {
        let process = try ServiceProcess("mostrador-api", environment: environmentValues)
        extraProcesses.withLock { $0.append(process) }
        try await Self.waitUntilReady(process)
        return process
    }

    private let extraProcesses = Mutex([ServiceProcess]())

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
        token = nil
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
        ].merging(extra) { _, new in new }
    }

    public func startRelayProcess() async throws {
        let process = try ServiceProcess("mostrador-bridge-relay", environment: environmentValues)
        relay = process
        try await Self.waitUntilReady(process)
    }

    static func waitUntilReady(_ process: ServiceProcess) async throws {
        let ready = await eventually(timeout: .seconds(30), poll: .milliseconds(50)) {
            (try? await HTTP.get("\(process.baseURL)/health/ready").status) == 200
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
    }

    // MARK: Talking to the api

    public var baseURL: String { api.baseURL }

    /// A customer message through the webhook, as the bridge sends it.
    public func webhook(_ body: [String: Any], token: String = MostradorSystem.webhookToken) async throws -> HTTPResult
    {
        try await HTTP.post("\(baseURL)/webhook", json: body, headers: ["Authorization": "Bearer \(token)"])
    }

    /// An admin session token (logging in once).
    public func adminToken() async throws -> String {
        if let token { return token }
        let response = try await HTTP.post(
            "\(baseURL)/api/auth/login/", json: ["username": Self.adminUser, "password": Self.adminPassword])
        guard let token = try response.json()["token"] as? String else {
            struct LoginFailed: Error {}
            throw LoginFailed()
        }
        self.token = token
        return token
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
        let response = try await HTTP.post(
            "\(baseURL)/api/auth/login/", json: ["username": username, "password": password])
        guard let token = try response.json()["token"] as? String else {
            struct LoginFailed: Error, CustomStringConvertible { let description: String }
            throw LoginFailed(description: response.text)
        }
        return "Token \(token)"
    }

    /// A web visitor's chat through the seed's two steps; returns the room id and the `Room …` header value.
    public func guestChat(
        _ initial: String = "Hola, necesito ayuda con mi pedido", name: String = "Juan Pérez",
        email: String = "usuario@ejemplo.com", phone: String = "+1234567890"
    ) async throws
        -> (room: String, authorization: String)
    {
        let started = try await HTTP.post("\(baseURL)/api/chat/start_chat/", json: ["initial_message": initial])
        let session = try started.json()["session_id"] as? String ?? ""
        let completed = try await HTTP.post(
            "\(baseURL)/api/chat/complete_chat/",
            json: [
                "session_id": session, "email": email, "full_name": name, "phone_number": phone,
                "recaptcha_token": "abc123def456",
            ])
        let body = try completed.json()
        guard let room = body["chat_room_id"] as? String, let token = body["room_token"] as? String else {
            struct ChatFailed: Error, CustomStringConvertible { let description: String }
            throw ChatFailed(description: "\(started.text) / \(completed.text)")
        }
        return (room, "Room \(token)")
    }

    /// The seed's `historial` of a ticket.
    public func history(_ ticketID: Int) async throws -> [[String: Any]] {
        let response = try await get("/ticket/\(ticketID)/conversacion")
        return try response.json()["historial"] as? [[String: Any]] ?? []
    }
}
