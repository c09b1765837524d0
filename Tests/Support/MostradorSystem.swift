import AMQPClient
import Foundation

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
    private var token: String?

    public var amqpURL: String {
        "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(amqp.virtualHost)"
    }

    /// Starts the api and (unless `relay` is false) the relay, and waits until both are ready.
    public init(
        relay startRelay: Bool = true, classifier startClassifier: Bool = false,
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
        if startClassifier {
            let process = try ServiceProcess("mostrador-classifier", environment: environmentValues)
            classifier = process
            try await Self.waitUntilReady(process)
        }
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

    /// The seed's `historial` of a ticket.
    public func history(_ ticketID: Int) async throws -> [[String: Any]] {
        let response = try await get("/ticket/\(ticketID)/conversacion")
        return try response.json()["historial"] as? [[String: Any]] ?? []
    }
}
