import AMQPClient
import Foundation
import MostradorContracts
import MostradorMessaging
import TestSupport
import Testing

/// A handler error like SQLite's `SQLITE_BUSY` after the busy timeout.
struct DatabaseBusy: Error, CustomStringConvertible {
    var description: String { "SQLite error 5: database is locked" }
}

/// What a handler saw, call by call.
actor HandlerCalls {
    struct Call {
        let id: UUID
        let failures: Int
        let attempt: Int
        let delay: String?
        let at: ContinuousClock.Instant
    }
    private(set) var calls: [Call] = []
    private(set) var deadLettered: [(id: UUID, reason: String)] = []

    func record(_ envelope: Envelope<TicketDescriptionUpdated>, _ delivery: AMQPDelivery) -> Int {
        calls.append(
            Call(
                id: envelope.messageID, failures: delivery.handlerFailures, attempt: delivery.attempt,
                delay: delivery.properties.headers[AMQPRetryLevels.delayHeader]?.stringValue, at: .now))
        return calls.count
    }

    func recordDeadLetter(_ id: UUID, _ reason: String) {
        deadLettered.append((id, reason))
    }
}

@Suite("Transient handler errors retry with backoff; only poison dead-letters")
struct TransientErrorTests {
    static let queue = MostradorTopology.classifierTickets.name
    static let message = TicketDescriptionUpdated(ticketID: 9, description: "no enciende", language: "es")

    /// A consumer of `classifier.tickets` whose `ticket.description_updated` handler is `handler`.
    static func consuming(
        _ connection: AMQPConnection, calls: HandlerCalls, retryPolicy: HandlerRetryPolicy = .init(),
        _ handler: @escaping @Sendable (Int) async throws -> ConsumeOutcome
    ) -> Task<Void, any Error> {
        var router = MessageRouter()
        router.on(TicketDescriptionUpdated.self) { envelope, delivery in
            try await handler(await calls.record(envelope, delivery))
        } deadLettered: { envelope, reason in
            await calls.recordDeadLetter(envelope.messageID, reason)
        }
        let consumer = MessageConsumer(
            connection: connection, queue: queue, router: router, retryPolicy: retryPolicy, logger: testLogger)
        return Task { try await consumer.run() }
    }

    static func nextDeadLetter(_ connection: AMQPConnection) async throws -> AMQPDelivery {
        let consumer = connection.consume(queue: MostradorTopology.deadLetterQueue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(await iterator.next())
        delivery.ack()
        consumer.cancel()
        return delivery
    }

    @Test func databaseBusyIsRetriedWithGrowingDelaysThenAckedNotDeadLettered() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let calls = HandlerCalls()
        try await withConnection(vhost, topology: MostradorTopology.topology) { connection in
            // Busy three times, then the database is back. The old consumer requeued at once: five busy
            // answers within milliseconds and the message was dead-lettered by the queue's delivery limit.
            let running = Self.consuming(connection, calls: calls) { call in
                if call <= 3 { throw DatabaseBusy() }
                return .ack
            }
            let id = UUID()
            try await connection.publish(Self.message, messageID: id)
            try #require(await eventually(timeout: .seconds(60)) { await calls.calls.count >= 4 })
            // Settled: nothing left in the work queue; and no stray copy comes back later (the delay queues'
            // bindings once matched every level, so each retry also came back after 2 s, 4 s, 8 s …).
            #expect(
                await eventually(timeout: .seconds(20)) {
                    (try? await connection.queueDepth(Self.queue))?.messages == 0
                })
            try await Task.sleep(for: .seconds(3))
            running.cancel()

            let seen = await calls.calls
            #expect(seen.allSatisfy { $0.id == id })
            #expect(seen.map(\.failures) == [0, 1, 2, 3])
            #expect(seen.map(\.attempt) == [0, 1, 2, 3])
            // Through the 1 s, 2 s and 4 s delay queues: each wait longer than the last (facts, not timings).
            #expect(seen.map(\.delay) == [nil, "1000", "2000", "4000"])
            // Each came back no sooner than ¾ of its level (the jitter's floor), however loaded the machine.
            for (index, level) in [1.0, 2.0, 4.0].enumerated() where index + 1 < seen.count {
                let waited = seen[index + 1].at - seen[index].at
                #expect(waited >= .milliseconds(Int64(level * 750) - 50), "wait \(index + 1): \(waited)")
            }
            #expect(try await connection.queueDepth(MostradorTopology.deadLetterQueue).messages == 0)
            #expect(await calls.deadLettered.isEmpty)
        }
    }

    @Test func aRetryTheBrokerRefusesForAWhileIsPublishedAgainNotRequeuedIntoTheDeliveryLimit() async throws {
        let broker = try await TestBroker.shared()
        let vhost = try await broker.freshVirtualHost()
        let calls = HandlerCalls()
        let later = uniqueName("later")
        let levels = AMQPRetryLevels(exchange: later, queuePrefix: later, levels: [.seconds(1)])
        // The delay queue refuses every copy (full, it rejects publishes: the broker nacks them), as a quorum delay
        // queue whose leader was on a lost node nacks them until its election is over. Classic here: a quorum
        // queue's length limit lets one message in before it refuses.
        var delay = levels.topology
        delay.queues = delay.queues.map { queue in
            AMQPTopology.Queue(
                queue.name,
                arguments: queue.arguments.filter { $0.key == "x-message-ttl" || $0.key == "x-dead-letter-exchange" })
        }
        try await broker.ctl([
            "set_policy", "-p", vhost.virtualHost, "refuse", "^\(later)",
            #"{"max-length":0,"overflow":"reject-publish"}"#,
            "--apply-to", "queues",
        ])
        try await withConnection(vhost, topology: MostradorTopology.topology.merging(delay)) { connection in
            var router = MessageRouter()
            router.on(TicketDescriptionUpdated.self) { envelope, delivery in
                await calls.record(envelope, delivery) == 1 ? .retry(after: .seconds(1)) : .ack
            } deadLettered: { envelope, reason in
                await calls.recordDeadLetter(envelope.messageID, reason)
            }
            let consumer = MessageConsumer(
                connection: connection, queue: Self.queue, router: router, retryLevels: levels, logger: testLogger)
            let running = Task { try await consumer.run() }
            let id = UUID()
            try await connection.publish(Self.message, messageID: id)
            try #require(await eventually { await calls.calls.count == 1 })
            // Refused for 3 s. Requeued at each refusal, the delivery came straight back: the queue's delivery limit
            // (5) went by in milliseconds and the broker dead-lettered it.
            try await Task.sleep(for: .seconds(3))
            #expect(await calls.calls.count == 1)
            try await broker.ctl(["clear_policy", "-p", vhost.virtualHost, "refuse"])
            try #require(await eventually(timeout: .seconds(30)) { await calls.calls.count >= 2 })
            #expect(
                await eventually(timeout: .seconds(10)) {
                    (try? await connection.queueDepth(Self.queue))?.messages == 0
                })
            try await Task.sleep(for: .seconds(1))
            running.cancel()

            let seen = await calls.calls
            #expect(seen.map(\.id) == [id, id])
            // The second call is the retry through the delay level, not a redelivery of the original.
            #expect(seen.map(\.attempt) == [0, 1])
            #expect(seen.map(\.delay) == [nil, "1000"])
            #expect(try await connection.queueDepth(MostradorTopology.deadLetterQueue).messages == 0)
            #expect(await calls.deadLettered.isEmpty)
        }
    }

    @Test func poisonMessageIsDeadLetteredAtOnceWithItsReason() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let calls = HandlerCalls()
        try await withConnection(vhost, topology: MostradorTopology.topology) { connection in
            let running = Self.consuming(connection, calls: calls) { _ in
                .deadLetter(reason: "el ticket 9 no existe")
            }
            let id = UUID()
            try await connection.publish(Self.message, messageID: id)
            let dead = try await Self.nextDeadLetter(connection)
            running.cancel()

            #expect(await calls.calls.count == 1)
            #expect(dead.properties.messageID == id.uuidString.lowercased())
            #expect(dead.properties.headers[DeadLetter.reasonHeader] == .string("el ticket 9 no existe"))
            let letter = DeadLetter(dead)
            #expect(letter.queue == Self.queue)
            #expect(letter.reason == "el ticket 9 no existe")
            #expect(letter.deaths == 1)
            #expect(letter.type == TicketDescriptionUpdated.type)
            // The hook heard of it, with the decoded envelope and the reason, before it went.
            let hooked = await calls.deadLettered
            #expect(hooked.count == 1 && hooked.first?.id == id && hooked.first?.reason == "el ticket 9 no existe")
        }
    }

    @Test func handlerThatKeepsThrowingIsDeadLetteredAfterTheConfiguredAttempts() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let calls = HandlerCalls()
        try await withConnection(vhost, topology: MostradorTopology.topology) { connection in
            let running = Self.consuming(connection, calls: calls, retryPolicy: .init(maxAttempts: 2)) { _ in
                throw DatabaseBusy()
            }
            let id = UUID()
            try await connection.publish(Self.message, messageID: id)
            let dead = try await Self.nextDeadLetter(connection)
            running.cancel()

            #expect(await calls.calls.count == 2)
            let reason = DeadLetter(dead).reason
            #expect(reason.contains("falló 2 veces") && reason.contains("database is locked"), "\(reason)")
            let hooked = await calls.deadLettered
            #expect(hooked.map(\.id) == [id] && hooked.first?.reason == reason)
        }
    }

    @Test func undecodableAndUnhandledMessagesAreDeadLetteredWithTheirReasonWithoutTheHook() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let calls = HandlerCalls()
        try await withConnection(vhost, topology: MostradorTopology.topology) { connection in
            let running = Self.consuming(connection, calls: calls) { _ in .ack }
            try await connection.publish(
                AMQPMessage(
                    exchange: "", routingKey: Self.queue, body: Array("{roto".utf8),
                    properties: AMQPProperties(messageID: UUID().uuidString, type: TicketDescriptionUpdated.type)))
            let garbage = DeadLetter(try await Self.nextDeadLetter(connection))
            try await connection.publish(
                AMQPMessage(
                    exchange: "", routingKey: Self.queue, body: Array("{}".utf8),
                    properties: AMQPProperties(messageID: UUID().uuidString, type: "ticket.desconocido")))
            let unhandled = DeadLetter(try await Self.nextDeadLetter(connection))
            running.cancel()

            #expect(garbage.reason.hasPrefix("no es un contrato válido"), "\(garbage.reason)")
            #expect(garbage.queue == Self.queue)
            #expect(unhandled.reason == "sin manejador para el tipo ticket.desconocido")
            #expect(await calls.calls.isEmpty)
            #expect(await calls.deadLettered.isEmpty)
        }
    }

    @Test func retryDelaysDoubleFromOneSecondToFiveMinutesWithJitterForOverHalfAnHour() {
        let policy = HandlerRetryPolicy()
        let delays = (1...12).map { policy.delay(afterFailure: $0) }
        #expect(delays.map { $0.components.seconds } == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
        for failures in 1...20 {
            let ceiling = policy.delay(afterFailure: failures)
            let jittered = policy.jitteredDelay(afterFailure: failures)
            #expect(jittered >= ceiling * 0.75 && jittered <= ceiling)
        }
        // A message is tried maxAttempts times, so it waits through maxAttempts - 1 delays before it gives up.
        let patience = (1..<policy.maxAttempts).map { policy.delay(afterFailure: $0) }.reduce(.zero, +)
        #expect(patience >= .seconds(30 * 60), "\(patience)")
        #expect(patience * 0.75 >= .seconds(25 * 60))
    }
}

@Suite("Dead letters: reading the broker's and the consumers' headers, and the redrive copy")
struct DeadLetterTests {
    @Test func brokerDeadLetteredMessageNamesItsWorkQueueNotTheDelayQueue() {
        // Retried once through the 1 s delay queue, then rejected by the broker (no reason header of ours).
        let deaths: AMQPFieldValue = .array([
            .table([
                "queue": "relay.send", "reason": "rejected", "count": 1, "exchange": "",
                "routing-keys": .array(["relay.send"]), "time": .int(1_700_000_000),
            ]),
            .table([
                "queue": "mostrador.delay.1000ms", "reason": "expired", "count": 1, "exchange": "mostrador.delay",
                "routing-keys": .array(["relay.send"]), "time": .int(1_699_999_999),
            ]),
        ])
        let letter = DeadLetter(
            body: Array("{}".utf8),
            properties: AMQPProperties(
                messageID: "m-1", type: "relay.send",
                headers: [
                    "x-death": deaths, "x-first-death-queue": "mostrador.delay.1000ms",
                    AMQPRetryLevels.attemptHeader: 3, AMQPRetryLevels.delayHeader: "1000", "x-delivery-count": 2,
                ]),
            routingKey: "relay.send")
        #expect(letter.queue == "relay.send")
        #expect(letter.reason == "rechazado por el consumidor")
        #expect(letter.deaths == 1)
        #expect(letter.deadAt == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(letter.returns == 2)

        let redrive = try? #require(letter.redriveMessage())
        // Straight to the queue it died in (a `delivery.updated` dead in api.results must not reach the notifier
        // again), its history folded into one count, its handler's own attempt count kept.
        #expect(redrive?.exchange == "" && redrive?.routingKey == "relay.send")
        let headers = redrive?.properties.headers ?? [:]
        #expect(
            headers["x-death"] == nil && headers["x-first-death-queue"] == nil && headers["x-delivery-count"] == nil)
        #expect(headers[AMQPRetryLevels.delayHeader] == nil)
        #expect(headers[AMQPRetryLevels.attemptHeader] == 3)
        #expect(headers[DeadLetter.deathsHeader] == 1)
        #expect(headers[DeadLetter.redrivenHeader] == 1)
        #expect(redrive?.properties.messageID == "m-1")
    }

    @Test func consumerDeadLetterCountsEarlierDeathsAndForgetsItsStayInTheWorkQueue() {
        let redriven = AMQPProperties(
            messageID: "m-2", type: "ticket.created",
            headers: [
                DeadLetter.deathsHeader: 1, DeadLetter.redrivenHeader: 1, HandlerRetryPolicy.failuresHeader: 4,
                AMQPRetryLevels.delayHeader: "8000",
            ])
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let letter = DeadLetter(
            body: [], properties: redriven, routingKey: "classifier.tickets", diedIn: "classifier.tickets",
            reason: "falló 16 veces", now: now)
        #expect(letter.deaths == 2)
        #expect(letter.redriveCount == 1)
        #expect(letter.reason == "falló 16 veces")
        #expect(letter.deadAt == now)
        #expect(letter.properties.headers[HandlerRetryPolicy.failuresHeader] == nil)
        #expect(letter.message(to: MostradorTopology.dead).exchange == MostradorTopology.dead)
        // Redriven again: the handler gets a fresh set of attempts.
        let again = try? #require(letter.redriveMessage())
        #expect(again?.properties.headers[DeadLetter.redrivenHeader] == 2)
        #expect(again?.properties.headers[DeadLetter.deathsHeader] == 2)
        #expect(again?.properties.headers[DeadLetter.reasonHeader] == nil)
    }
}
