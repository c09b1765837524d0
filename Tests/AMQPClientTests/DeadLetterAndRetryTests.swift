import AMQPClient
import Foundation
import Logging
import MostradorContracts
import MostradorMessaging
import TestSupport
import Testing

@Suite("Redelivery, dead-lettering and delayed retries")
struct DeadLetterAndRetryTests {
    @Test func failingMessageIsRedeliveredThenDeadLetteredAfterTheDeliveryLimit() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        var work = WorkTopology()
        work.deliveryLimit = 2
        try await withConnection(vhost, topology: work.topology) { connection in
            try await connection.publish(work.message("always fails"))

            let consumer = connection.consume(queue: work.queue, prefetch: 1)
            let attempts = Task {
                var seen: [(redelivered: Bool, count: Int)] = []
                for await delivery in consumer {
                    seen.append((delivery.redelivered, delivery.deliveryCount))
                    delivery.nack(requeue: true)
                }
                return seen
            }
            let dead = connection.consume(queue: work.deadQueue, prefetch: 1)
            var deadIterator = dead.makeAsyncIterator()
            let deadLettered = try #require(await deadIterator.next())
            deadLettered.ack()
            consumer.cancel()
            dead.cancel()
            let seen = await attempts.value

            #expect(String(decoding: deadLettered.body, as: UTF8.self) == "always fails")
            // Delivered once, then once more per allowed return: limit 2 means three deliveries in all.
            #expect(seen.count == work.deliveryLimit + 1)
            #expect(seen.first?.redelivered == false)
            #expect(seen.dropFirst().allSatisfy { $0.redelivered })
            #expect(seen.map(\.count) == Array(0...work.deliveryLimit))
            guard case .array(let deaths) = deadLettered.properties.headers["x-death"],
                case .table(let death) = deaths.first
            else {
                Issue.record("no x-death header: \(deadLettered.properties.headers)")
                return
            }
            #expect(death["reason"] == .string("delivery_limit"))
            #expect(death["queue"] == .string(work.queue))
        }
    }

    @Test func rejectedMessageGoesStraightToTheDeadLetterQueue() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            try await connection.publish(work.message("poison"))
            var iterator = connection.consume(queue: work.queue, prefetch: 1).makeAsyncIterator()
            try #require(await iterator.next()).reject()
            var deadIterator = connection.consume(queue: work.deadQueue, prefetch: 1).makeAsyncIterator()
            let dead = try #require(await deadIterator.next())
            #expect(String(decoding: dead.body, as: UTF8.self) == "poison")
            #expect(dead.redelivered == false)
            dead.ack()
        }
    }

    @Test func delayedRetryComesBackAfterItsLevelTTL() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let calls = CallLog()
        try await withConnection(vhost, topology: MostradorTopology.topology) { connection in
            var router = MessageRouter()
            router.on(TicketDescriptionUpdated.self) { envelope, delivery in
                await calls.record(
                    attempt: delivery.attempt, id: envelope.messageID,
                    delay: delivery.properties.headers[AMQPRetryLevels.delayHeader]?.stringValue
                )
                return delivery.attempt == 0 ? .retry(after: .milliseconds(1500)) : .ack
            }
            let consumer = MessageConsumer(
                connection: connection, queue: MostradorTopology.classifierTickets.name, router: router,
                logger: testLogger
            )
            let running = Task { try await consumer.run() }
            let messageID = UUID()
            try await connection.publish(
                TicketDescriptionUpdated(ticketID: 9, description: "no imprime", language: "es"), messageID: messageID
            )
            try #require(await eventually(timeout: .seconds(10)) { await calls.entries.count >= 2 })
            running.cancel()

            let entries = await calls.entries
            // Dead-lettering out of the delay queue is at-least-once: the retry may come twice (consumers
            // deduplicate by message id); it never comes with another attempt number.
            #expect(entries.first?.attempt == 0)
            #expect(entries.dropFirst().allSatisfy { $0.attempt == 1 })
            #expect(entries.allSatisfy { $0.id == messageID })
            // 1.5 s rounds down to the 1 s level: it went through the 1 s delay queue (a fact, not a timing)
            // and came back no sooner than that queue's TTL. How much later depends on the machine's load.
            #expect(entries.dropFirst().allSatisfy { $0.delay == "1000" })
            let waited = entries[1].at - entries[0].at
            #expect(waited >= .milliseconds(950))
        }
    }

    @Test func deliveryThatIsNotAValidContractIsDeadLetteredAndTheConsumerKeepsGoing() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let calls = CallLog()
        try await withConnection(vhost, topology: MostradorTopology.topology) { connection in
            var router = MessageRouter()
            router.on(TicketCreated.self) { envelope, delivery in
                await calls.record(attempt: delivery.attempt, id: envelope.messageID)
                return .ack
            }
            let consumer = MessageConsumer(
                connection: connection, queue: MostradorTopology.classifierTickets.name, router: router,
                logger: testLogger
            )
            let running = Task { try await consumer.run() }

            let garbage = AMQPMessage(
                exchange: MostradorTopology.events, routingKey: TicketCreated.type, body: Array("{not json".utf8),
                properties: AMQPProperties(messageID: UUID().uuidString, type: TicketCreated.type)
            )
            try await connection.publish(garbage)
            let valid = TicketCreated(
                ticketID: 1, ticketUUID: UUID(), channel: .web, customerID: 1, customerName: nil,
                description: nil, language: "es", createdAt: Date()
            )
            let validID = UUID()
            try await connection.publish(valid, messageID: validID)

            var deadIterator = connection.consume(queue: MostradorTopology.deadLetterQueue, prefetch: 1)
                .makeAsyncIterator()
            let dead = try #require(await deadIterator.next())
            dead.ack()
            #expect(String(decoding: dead.body, as: UTF8.self) == "{not json")
            #expect(await eventually { await calls.entries.count == 1 })
            #expect(await calls.entries.first?.id == validID)
            running.cancel()
        }
    }
}

actor CallLog {
    struct Entry {
        let attempt: Int
        let id: UUID
        let at: ContinuousClock.Instant
        let delay: String?
    }
    private(set) var entries: [Entry] = []

    func record(attempt: Int, id: UUID, delay: String? = nil) {
        entries.append(Entry(attempt: attempt, id: id, at: .now, delay: delay))
    }
}
