import MostradorServiceKit
import Testing

/// The operations port and connection limits, as `MOSTRADOR_*` settings.
@Suite struct ServiceOptionsTests {
    func resolve(_ environment: [String: String]) throws -> ServiceConfiguration {
        try ServiceOptions.parse([]).resolve(service: "api", defaultPort: 8080, environment: environment)
    }

    @Test func defaultsAreSafe() throws {
        let configuration = try resolve([:])
        #expect(configuration.operations == nil)
        #expect(configuration.metricsToken == nil)
        #expect(configuration.limits == ConnectionLimits(idleTimeout: .seconds(30), maximumConnections: 4096))
    }

    @Test func settingsAreRead() throws {
        let configuration = try resolve([
            "MOSTRADOR_OPS_PORT": "9180", "MOSTRADOR_OPS_HOST": "10.0.0.5", "MOSTRADOR_METRICS_TOKEN": "t",
            "MOSTRADOR_HTTP_IDLE_TIMEOUT_SECONDS": "1.5", "MOSTRADOR_MAX_CONNECTIONS": "300",
        ])
        #expect(configuration.operations == OperationsListener(host: "10.0.0.5", port: 9180))
        #expect(configuration.metricsToken == "t")
        #expect(configuration.limits == ConnectionLimits(idleTimeout: .milliseconds(1500), maximumConnections: 300))
    }

    @Test(arguments: [
        ("MOSTRADOR_OPS_PORT", "70000"), ("MOSTRADOR_HTTP_IDLE_TIMEOUT_SECONDS", "0"),
        ("MOSTRADOR_HTTP_IDLE_TIMEOUT_SECONDS", "pronto"), ("MOSTRADOR_MAX_CONNECTIONS", "0"),
        ("MOSTRADOR_MAX_CONNECTIONS", "2.5"),
    ])
    func badValuesAreRefusedNamingTheVariable(_ variable: String, _ value: String) {
        do {
            _ = try resolve([variable: value])
            Issue.record("\(variable)=\(value) was accepted")
        } catch {
            #expect("\(error)".contains(variable), "\(error)")
        }
    }
}
