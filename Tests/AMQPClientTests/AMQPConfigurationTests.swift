import AMQPClient
import Testing

@Suite struct AMQPConfigurationTests {
    @Test func parsesAFullURL() throws {
        let configuration = try AMQPConfiguration(url: "amqp://ana:s%40cret@broker.local:5700/soporte")
        #expect(configuration.host == "broker.local")
        #expect(configuration.port == 5700)
        #expect(configuration.user == "ana")
        #expect(configuration.password == "s@cret")
        #expect(configuration.virtualHost == "soporte")
    }

    @Test func encodedSlashAndEmptyPathAreTheDefaultVirtualHost() throws {
        #expect(try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:5679/%2F").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://127.0.0.1").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://127.0.0.1").port == 5672)
    }

    @Test(arguments: ["http://host/", "amqp://", "not a url", "amqp:///vhost"])
    func rejectsWhatIsNotAnAMQPURL(_ url: String) {
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: url) }
    }

    @Test func errorsAndLogsNeverShowThePassword() throws {
        let configuration = try AMQPConfiguration(url: "amqp://ana:topsecret@host:5672/%2F")
        #expect(!configuration.redactedURL.contains("topsecret"))
        do {
            _ = try AMQPConfiguration(url: "http://ana:topsecret@host/")
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }

    @Test func aClusterIsACommaSeparatedListOfNodes() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://ana:a%2Cb@rabbit-1:5700,rabbit-2,[::1]:5702/soporte")
        #expect(
            configuration.endpoints == [
                AMQPEndpoint(host: "rabbit-1", port: 5700), AMQPEndpoint(host: "rabbit-2", port: 5672),
                AMQPEndpoint(host: "::1", port: 5702),
            ])
        #expect(configuration.user == "ana")
        #expect(configuration.password == "a,b")
        #expect(configuration.virtualHost == "soporte")
        #expect(configuration.redactedURL == "amqp://ana:***@rabbit-1:5700,rabbit-2:5672,[::1]:5702/soporte")
        #expect(configuration.redactedURL(configuration.endpoints[1]) == "amqp://ana:***@rabbit-2:5672/soporte")
        // One node: the first is the only one.
        #expect(try AMQPConfiguration(url: "amqp://h:1/%2F").endpoints == [AMQPEndpoint(host: "h", port: 1)])
    }

    @Test(arguments: ["amqp://ana:pw@h1:1,,h3:3/v", "amqp://ana:pw@h1:1,:2/v", "amqp://ana:pw@h1:x/v", "amqp://,/"])
    func aListWithAnEmptyOrBadNodeIsRefused(_ url: String) {
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: url) }
    }

    @Test func aBadClusterURLsErrorHidesThePassword() {
        do {
            _ = try AMQPConfiguration(url: "amqp://ana:topsecret@h1:1,h2:notaport/v")
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("topsecret"), "\(error)")
            #expect("\(error)".contains("ana:***@h1:1,h2:notaport"), "\(error)")
        }
    }

    @Test func retryLevelsDoubleFromOneSecondToAFiveMinuteCap() {
        let levels = AMQPRetryLevels.doubling()
        #expect(levels.first == .seconds(1))
        #expect(levels.last == .seconds(300))
        #expect(levels == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map { Duration.seconds($0) })
        let retry = AMQPRetryLevels(exchange: "r", queuePrefix: "r", levels: levels)
        #expect(retry.level(for: .milliseconds(3900)) == .seconds(2))
        #expect(retry.level(for: .milliseconds(10)) == .seconds(1))
        #expect(retry.level(for: .seconds(3600)) == .seconds(300))
        #expect(retry.topology.queues.count == levels.count)
    }
}
