import AMQPClient
import Foundation
import Logging
import MostradorContracts
import MostradorMessaging
import MostradorServiceKit
import Prometheus
import TestSupport
import Testing

/// A consumer that refuses its messages until it is fixed, and remembers what it handled.
actor RepairableConsumer {
    private(set) var broken = true
    private(set) var handled: [(id: UUID, redrives: Int)] = []

    func fix() { broken = false }

    func handle(_ id: UUID, _ delivery: AMQPDelivery) -> ConsumeOutcome {
        guard !broken else { return .deadLetter(reason: "modelo no disponible") }
        handled.append((id, delivery.redriveCount))
        return .ack
    }
}

@Suite("Dead letters: the admin command, the gauge and the readiness warning, against the real broker")
struct DeadLetterAdminTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// `mostrador-api <arguments>` against `url`; its standard output (throws when it exits non-zero).
    static func admin(_ arguments: [String], url: String) async throws -> String {
        try await Shell.run(
            [ServiceProcess.binaryDirectory.appendingPathComponent("mostrador-api").path] + arguments,
            environment: ["MOSTRADOR_AMQP_URL": url])
    }

    @Test func deadLetterIsListedShownRedrivenAndHandledWhileTheApiWarnsAndCountsIt() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost("dead")
        let url = "amqp://guest:guest@\(vhost.host):\(vhost.port)/\(vhost.virtualHost)"
        let connection = AMQPConnection(configuration: vhost, topology: MostradorTopology.topology, logger: Self.logger)
        connection.start()
        try await connection.waitUntilReady(timeout: TestBroker.readyTimeout)
        let consumer = RepairableConsumer()
        var router = MessageRouter()
        router.on(TicketDescriptionUpdated.self) { envelope, delivery in
            await consumer.handle(envelope.messageID, delivery)
        }
        let running = Task {
            try await MessageConsumer(
                connection: connection, queue: MostradorTopology.classifierTickets.name, router: router,
                logger: Self.logger
            ).run()
        }
        let api = try ServiceProcess(
            "mostrador-api",
            environment: [
                "MOSTRADOR_AMQP_URL": url,
                "MOSTRADOR_DATA_DIR": NSTemporaryDirectory() + "mostrador-\(UUID().uuidString.prefix(8))",
                "MOSTRADOR_DEAD_LETTER_CHECK_SECONDS": "0.2",
            ])
        defer { running.cancel() }
        let ready = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            (try? await HTTP.get("\(api.opsURL)/health/ready").status) == 200
        }
        try #require(ready, "the api never became ready:\n\(api.output)")
        #expect(try await HTTP.get("\(api.opsURL)/health/ready").json()["warnings"] == nil)

        let first = UUID()
        let second = UUID()
        for id in [first, second] {
            try await connection.publish(
                TicketDescriptionUpdated(ticketID: 7, description: "no enciende", language: "es"), messageID: id)
        }
        // Both dead-letter: the api stays ready (200) but warns, and the gauge counts them.
        let warned = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            guard let answer = try? await HTTP.get("\(api.opsURL)/health/ready"), answer.status == 200,
                let warnings = try? answer.json()["warnings"] as? [String]
            else { return false }
            return warnings == ["2 mensajes en mostrador.dead-letters: revíselos con `mostrador-api dead-letters list`"]
        }
        let readiness = try await HTTP.get("\(api.opsURL)/health/ready").text
        #expect(warned, "\(readiness)")
        #expect(try await HTTP.get("\(api.opsURL)/metrics").text.contains("mostrador_dead_letters 2"))
        // The public port says no more than before.
        #expect(try await HTTP.get("\(api.baseURL)/health/ready").text == #"{"status":"ready"}"#)

        let list = try await Self.admin(["dead-letters", "list"], url: url)
        #expect(list.hasPrefix("mostrador.dead-letters: 2 mensajes"), "\(list)")
        let line = list.split(separator: "\n").first { $0.contains(first.uuidString.lowercased()) }
        #expect(line?.contains("ticket.description_updated") == true, "\(list)")
        #expect(line?.contains("classifier.tickets") == true)
        #expect(line?.hasSuffix("modelo no disponible") == true)

        let shown = try await Self.admin(["dead-letters", "show", first.uuidString], url: url)
        #expect(shown.contains("motivo:         modelo no disponible"), "\(shown)")
        #expect(shown.contains("  x-mostrador-queue: classifier.tickets"))
        #expect(shown.contains("\"description\" : \"no enciende\""))
        // Looking leaves them where they are. The command read them without acking and closed its
        // channel; a quorum queue makes them ready again a moment later, so wait for that.
        #expect(
            await eventually(timeout: .seconds(10)) {
                (try? await connection.queueDepth(MostradorTopology.deadLetterQueue))?.messages == 2
            })

        await consumer.fix()
        let redriven = try await Self.admin(["dead-letters", "redrive", first.uuidString], url: url)
        #expect(
            redriven.contains(
                "reenviado \(first.uuidString.lowercased()) (ticket.description_updated) → classifier.tickets"),
            "\(redriven)")
        #expect(await eventually { await consumer.handled.map(\.id) == [first] })
        #expect(await consumer.handled.first?.redrives == 1)
        // The command acked its copy before it exited; a quorum queue applies that ack a moment later.
        #expect(
            await eventually(timeout: .seconds(10)) {
                (try? await connection.queueDepth(MostradorTopology.deadLetterQueue))?.messages == 1
            })

        let all = try await Self.admin(["dead-letters", "redrive", "--all"], url: url)
        #expect(all.contains("1 reenviados, 0 con error"), "\(all)")
        #expect(await eventually { await consumer.handled.map(\.id) == [first, second] })
        #expect(
            await eventually(timeout: .seconds(20)) {
                (try? await connection.queueDepth(MostradorTopology.deadLetterQueue))?.messages == 0
            })
        // Empty again: no warning, the gauge at 0.
        let cleared = await eventually(timeout: .seconds(30), poll: .milliseconds(100)) {
            guard let answer = try? await HTTP.get("\(api.opsURL)/health/ready") else { return false }
            return answer.status == 200 && (try? answer.json())?["warnings"] == nil
        }
        #expect(cleared)
        #expect(try await HTTP.get("\(api.opsURL)/metrics").text.contains("mostrador_dead_letters 0"))

        // Nothing to redrive under that id: a failure exit.
        await #expect(throws: Shell.Failure.self) {
            try await Self.admin(["dead-letters", "redrive", UUID().uuidString], url: url)
        }
        #expect(await api.terminate() == 0, "\(api.output)")
        running.cancel()
        await connection.shutdown()
    }

    @Test func watchKeepsTheLastDepthWhenTheBrokerDoesNotAnswer() async throws {
        let registry = PrometheusCollectorRegistry()
        let answers = DepthScript([3, nil, 0])
        let watch = DeadLetterWatch(
            queue: "mostrador.dead-letters", interval: .seconds(15), registry: registry, logger: Self.logger
        ) { try await answers.next() }
        #expect(await watch.readinessCheck.problem() == nil)
        #expect(watch.readinessCheck.isWarning)

        await watch.refresh()
        #expect(
            await watch.readinessCheck.problem()
                == "3 mensajes en mostrador.dead-letters: revíselos con `mostrador-api dead-letters list`")
        #expect(Self.emitted(registry).contains("mostrador_dead_letters 3"))
        await watch.refresh()  // the broker did not answer: still 3
        #expect(watch.messages == 3)
        #expect(Self.emitted(registry).contains("mostrador_dead_letters 3"))
        await watch.refresh()
        #expect(await watch.readinessCheck.problem() == nil)
        #expect(Self.emitted(registry).contains("mostrador_dead_letters 0"))
    }

    static func emitted(_ registry: PrometheusCollectorRegistry) -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Depths to report in turn; nil stands for a broker that does not answer.
actor DepthScript {
    struct NoAnswer: Error {}
    private var answers: [Int?]

    init(_ answers: [Int?]) { self.answers = answers }

    func next() throws -> Int {
        guard let answer = answers.removeFirst() else { throw NoAnswer() }
        return answer
    }
}

@Suite("Handler retry settings")
struct HandlerRetrySettingsTests {
    static func configuration(_ environment: [String: String]) throws -> ServiceConfiguration {
        try ServiceConfiguration(
            service: "test", amqp: AMQPConfiguration(url: "amqp://127.0.0.1"), environment: environment)
    }

    @Test func maxAttemptsDefaultsToSixteenAndRefusesNonsense() throws {
        #expect(try Self.configuration([:]).handlerRetryPolicy().maxAttempts == 16)
        #expect(try Self.configuration(["MOSTRADOR_HANDLER_MAX_ATTEMPTS": "3"]).handlerRetryPolicy().maxAttempts == 3)
        for bad in ["0", "-1", "abc", "1e9", "inf"] {
            #expect(throws: (any Error).self) {
                try Self.configuration(["MOSTRADOR_HANDLER_MAX_ATTEMPTS": bad]).handlerRetryPolicy()
            }
        }
        #expect(try Self.configuration([:]).deadLetterCheckInterval() == .seconds(15))
        #expect(throws: (any Error).self) {
            try Self.configuration(["MOSTRADOR_DEAD_LETTER_CHECK_SECONDS": "nan"]).deadLetterCheckInterval()
        }
    }
}
