import Foundation
import TestSupport
import Testing

@Suite("Each executable against the real broker")
struct ExecutableLifecycleTests {
    static let executables = ["mostrador-api", "mostrador-bridge-relay", "mostrador-notifier", "mostrador-classifier"]

    @Test(arguments: executables)
    func startsBecomesReadyAndExitsZeroOnSIGTERM(_ name: String) async throws {
        let broker = try await TestBroker.shared()
        let vhost = try await broker.freshVirtualHost(name)
        let dataDirectory = NSTemporaryDirectory() + "mostrador-\(UUID().uuidString.prefix(8))"
        var environment = [
            "MOSTRADOR_AMQP_URL": "amqp://guest:guest@\(vhost.host):\(vhost.port)/\(vhost.virtualHost)",
            "MOSTRADOR_DATA_DIR": dataDirectory,
            "MOSTRADOR_LOG_FORMAT": "json",
        ]
        if name == "mostrador-classifier", let model = await ClassifierModel.path() {
            environment["MOSTRADOR_CLASSIFIER_MODEL"] = model
        }
        let service = try ServiceProcess(name, environment: environment)
        // Generous: the suites run side by side with brokers starting, and two cores can be busy for a while.
        let ready = await eventually(timeout: .seconds(90), poll: .milliseconds(100)) {
            (try? await HTTP.get("\(service.opsURL)/health/ready").status) == 200
        }
        #expect(ready, "\(name) never became ready:\n\(service.output)")
        #expect(try await HTTP.get("\(service.baseURL)/health/live").status == 200)
        let publicReady = try await HTTP.get("\(service.baseURL)/health/ready")
        #expect(publicReady.status == 200 && publicReady.text == #"{"status":"ready"}"#)

        // Metrics on the operations port only.
        let metrics = try await HTTP.get("\(service.opsURL)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("content-type")?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains("mostrador_amqp"))
        #expect(try await HTTP.get("\(service.baseURL)/metrics").status == 404)

        #expect(await service.terminate() == 0, "\(name) did not exit 0:\n\(service.output)")
        // JSON log lines, each a complete object.
        let lines = service.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    /// A service that cannot listen must say so and exit (an api whose port was taken kept running, logging outbox
    /// errors every second, and ignored SIGTERM: its background loops never saw the group's cancellation).
    @Test(arguments: ["mostrador-api", "mostrador-bridge-relay"])
    func exitsWithAnErrorWhenItsPortIsTaken(_ name: String) async throws {
        let broker = try await TestBroker.shared()
        let vhost = try await broker.freshVirtualHost("\(name)-port")
        func environment() -> [String: String] {
            [
                "MOSTRADOR_AMQP_URL": "amqp://guest:guest@\(vhost.host):\(vhost.port)/\(vhost.virtualHost)",
                "MOSTRADOR_DATA_DIR": NSTemporaryDirectory() + "mostrador-\(UUID().uuidString.prefix(8))",
            ]
        }
        let first = try ServiceProcess(name, environment: environment())
        let ready = await eventually(timeout: .seconds(90), poll: .milliseconds(100)) {
            (try? await HTTP.get("\(first.opsURL)/health/ready").status) == 200
        }
        #expect(ready, "\(first.output)")
        let second = try ServiceProcess(name, environment: environment(), port: first.port)
        let status = await second.waitForExit(timeout: .seconds(90))
        #expect(status != nil && status != 0, "the second \(name) did not exit with an error:\n\(second.output)")
        #expect(await first.terminate() == 0, "\(first.output)")
    }

    @Test func notReadyWhileTheBrokerIsUnreachableAndStillExitsCleanly() async throws {
        let service = try ServiceProcess(
            "mostrador-notifier",
            environment: ["MOSTRADOR_AMQP_URL": "amqp://guest:guest@127.0.0.1:\(try freePort())/%2F"]
        )
        let live = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            (try? await HTTP.get("\(service.baseURL)/health/live").status) == 200
        }
        #expect(live, "never came up:\n\(service.output)")
        let ready = try await HTTP.get("\(service.opsURL)/health/ready")
        #expect(ready.status == 503)
        let problems = try ready.json()["problems"] as? [String: String]
        #expect(problems?["broker"]?.contains("reconnecting") == true)
        // The public port says no more than "not ready": no broker state, no error text.
        let bare = try await HTTP.get("\(service.baseURL)/health/ready")
        #expect(bare.status == 503 && bare.text == #"{"status":"not_ready"}"#, "\(bare.text)")
        #expect(await service.terminate() == 0, "\(service.output)")
    }

    @Test func publicMetricsNeedTheMetricsToken() async throws {
        let service = try ServiceProcess(
            "mostrador-notifier",
            environment: [
                "MOSTRADOR_AMQP_URL": "amqp://guest:guest@127.0.0.1:\(try freePort())/%2F",
                "MOSTRADOR_METRICS_TOKEN": "token-de-metricas",
            ]
        )
        let live = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            (try? await HTTP.get("\(service.baseURL)/health/live").status) == 200
        }
        #expect(live, "never came up:\n\(service.output)")
        let url = "\(service.baseURL)/metrics"
        #expect(try await HTTP.get(url).status == 401)
        #expect(try await HTTP.get(url, headers: ["Authorization": "Bearer otro-token"]).status == 401)
        let metrics = try await HTTP.get(url, headers: ["Authorization": "Bearer token-de-metricas"])
        #expect(metrics.status == 200 && metrics.text.contains("mostrador_amqp"))
        #expect(await service.terminate() == 0, "\(service.output)")
    }

    @Test func badConfigurationIsRefusedWithAClearMessage() async throws {
        let service = try ServiceProcess("mostrador-classifier", environment: ["MOSTRADOR_LOG_FORMAT": "yaml"])
        let status = await service.waitForExit()
        #expect(status != nil && status != 0)
        #expect(service.output.contains("MOSTRADOR_LOG_FORMAT must be json or text"))
    }
}
