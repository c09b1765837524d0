import AMQPClient
import Foundation
import MostradorMessaging
import TestSupport
import Testing

/// The api as an operator runs it, when the broker misbehaves: a live-feed queue it may not declare, a broker that
/// is down when SIGTERM arrives.
@Suite("The api against broker trouble")
struct BrokerTroubleLifecycleTests {
    static func environment(_ amqp: AMQPConfiguration, dataDirectory: String) -> [String: String] {
        let vhost = amqp.virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? amqp.virtualHost
        return [
            "MOSTRADOR_AMQP_URL": "amqp://guest:guest@\(amqp.host):\(amqp.port)/\(vhost)",
            "MOSTRADOR_DATA_DIR": dataDirectory,
            "MOSTRADOR_WEBHOOK_TOKEN": "webhook-secret",
            "MOSTRADOR_INTAKE": "off",
            "MOSTRADOR_MIN_FREE_DISK_MB": "0",
            "MOSTRADOR_DRAIN_TIMEOUT_SECONDS": "2",
        ]
    }

    static func ready(_ service: ServiceProcess) async -> Bool {
        await eventually(timeout: .seconds(60), poll: .milliseconds(100)) {
            (try? await HTTP.get("\(service.opsURL)/health/ready").status) == 200
        }
    }

    static func customerMessage(_ service: ServiceProcess, _ text: String) async throws -> HTTPResult {
        try await HTTP.post(
            "\(service.baseURL)/webhook", json: ["remitente": "5215550002222", "contenido": text],
            headers: ["Authorization": "Bearer webhook-secret"])
    }

    /// Messages waiting in the classifier's queue: every new customer message lands there through the outbox.
    static func classifierBacklog(_ amqp: AMQPConfiguration) async throws -> UInt32 {
        let connection = AMQPConnection(configuration: amqp, logger: .init(label: "test"))
        connection.start()
        do {
            let depth = try await connection.queueDepth(MostradorTopology.classifierTickets.name)
            await connection.shutdown()
            return depth.messages
        } catch {
            await connection.shutdown()
            throw error
        }
    }

    @Test func aLiveFeedQueueTheBrokerRefusesStallsNeitherReadinessNorOutboxPublishing() async throws {
        let broker = try await TestBroker.shared()
        let amqp = try await broker.freshVirtualHost("live")
        // The api may configure everything except its live-feed queues (`mostrador.live.<instance>`).
        try await broker.ctl([
            "set_permissions", "-p", amqp.virtualHost, "guest", #"^(?!mostrador\.live\.).*"#, ".*", ".*",
        ])
        let dataDirectory = NSTemporaryDirectory() + "mostrador-\(UUID().uuidString.prefix(8))"
        let api = try ServiceProcess("mostrador-api", environment: Self.environment(amqp, dataDirectory: dataDirectory))
        #expect(await Self.ready(api), "never ready:\n\(api.output)")
        #expect(try await Self.customerMessage(api, "no imprime").status == 200)
        #expect(await eventually(timeout: .seconds(30)) { (try? await Self.classifierBacklog(amqp)) == 1 })
        #expect(api.output.contains("ACCESS_REFUSED"), "the live queue was not refused:\n\(api.output)")
        #expect(await api.terminate() == 0, "\(api.output)")
    }

    @Test func sigtermWithTheBrokerDownAndOutboxWorkPendingExitsInTimeAndLosesNothing() async throws {
        try await TestBroker.withDedicated { broker in
            let amqp = try await broker.configuration
            let dataDirectory = NSTemporaryDirectory() + "mostrador-\(UUID().uuidString.prefix(8))"
            let environment = Self.environment(amqp, dataDirectory: dataDirectory)
            let api = try ServiceProcess("mostrador-api", environment: environment)
            #expect(await Self.ready(api), "never ready:\n\(api.output)")

            try await broker.stop()
            #expect(
                await eventually(timeout: .seconds(30)) {
                    (try? await HTTP.get("\(api.opsURL)/health/ready").status) == 503
                })
            #expect(try await Self.customerMessage(api, "la impresora no enciende").status == 200)
            // Let the outbox pick the row up and wait on the unreachable broker.
            try await Task.sleep(for: .seconds(1))

            api.signal(SIGTERM)
            // Drain deadline 2 s; the margin is for a loaded machine, the old code never exited at all.
            let status = await api.waitForExit(timeout: .seconds(30))
            #expect(status == 0, "did not exit cleanly (\(String(describing: status))):\n\(api.output)")

            try await broker.start()
            let restarted = try ServiceProcess("mostrador-api", environment: environment)
            #expect(await Self.ready(restarted), "never ready after the restart:\n\(restarted.output)")
            #expect(await eventually(timeout: .seconds(30)) { (try? await Self.classifierBacklog(amqp)) == 1 })
            #expect(await restarted.terminate() == 0, "\(restarted.output)")
        }
    }
}
