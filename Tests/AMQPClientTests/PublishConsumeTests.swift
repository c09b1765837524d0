import AMQPClient
import Foundation
import MostradorContracts
import MostradorMessaging
import TestSupport
import Testing

@Suite("Publishing and consuming against a real broker")
struct PublishConsumeTests {
    @Test func contractValueRoundTripsThroughTheEventsExchangeAndAQuorumQueue() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        try await withConnection(vhost, topology: MostradorTopology.topology) { connection in
            let sent = TicketCreated(
                ticketID: 123, ticketUUID: UUID(), channel: .whatsapp, customerID: 7, customerName: "Lupita",
                description: "la laptop no prende 😭", language: "es",
                createdAt: Date(timeIntervalSince1970: 1_770_000_000.25)
            )
            let messageID = UUID()
            try await connection.publish(sent, messageID: messageID)

            let consumer = connection.consume(queue: MostradorTopology.classifierTickets.name, prefetch: 1)
            var iterator = consumer.makeAsyncIterator()
            let delivery = try #require(await iterator.next())
            let envelope = try delivery.decode(TicketCreated.self)
            delivery.ack()
            consumer.cancel()

            #expect(envelope.payload == sent)
            #expect(envelope.messageID == messageID)
            #expect(delivery.properties.type == "ticket.created")
            #expect(delivery.properties.correlationID == "123")
            #expect(delivery.properties.contentType == "application/json")
            #expect(delivery.properties.persistent)
            #expect(delivery.properties.headers["x-schema-version"] == .int(1))
            #expect(delivery.exchange == MostradorTopology.events)
            #expect(String(decoding: delivery.body, as: UTF8.self).contains("\"ticket_id\":123"))
        }
    }

    @Test func tenThousandPersistentMessagesAreAllConfirmedAndConsumedExactlyOnce() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        let total = 10_000
        try await withConnection(vhost, topology: work.topology) { connection in
            let results = await connection.publish(contentsOf: (0..<total).map { work.message("m\($0)") })
            #expect(results.count == total)
            #expect(results.allSatisfy { if case .success = $0 { true } else { false } })

            let collector = Collector()
            let consumer = connection.consume(queue: work.queue, prefetch: 500)
            let task = consumer.collect(into: collector)
            #expect(await eventually(timeout: .seconds(60)) { await collector.count >= total })
            // Anything beyond the 10,000 would be a duplicate: give it a moment to show up.
            try await Task.sleep(for: .milliseconds(300))
            consumer.cancel()
            await task.value
            #expect(await collector.count == total)
            #expect(await collector.unique == Set((0..<total).map { "m\($0)" }))
            #expect(await collector.redeliveries == 0)
        }
        // Quorum queues apply acks through their log: the count may lag a moment; lost acks would requeue and stay.
        #expect(try await queueDrains(vhost: vhost.virtualHost, queue: work.queue))
    }

    @Test func unroutableMandatoryMessageFailsAsReturned() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            let unbound = uniqueName("nobody-listens")
            try await connection.publish(
                AMQPMessage(exchange: "", routingKey: work.queue, body: Array("routed".utf8))
            )
            await #expect(throws: AMQPError.returned(code: 312, text: "NO_ROUTE")) {
                try await connection.publish(AMQPMessage(exchange: "", routingKey: unbound, body: [1, 2, 3]))
            }
            // The connection is still usable afterwards.
            try await connection.publish(work.message("after"))
        }
    }

    @Test func publishingToAMissingExchangeFailsThatMessageOnlyAndRecovers() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            await #expect(throws: AMQPError.self) {
                try await connection.publish(AMQPMessage(exchange: uniqueName("missing"), routingKey: "x", body: [1]))
            }
            try await connection.publish(work.message("still works"))
            #expect(await eventually { connection.isReady })
        }
    }

    @Test func aRefusedMessageInTheMiddleOfABurstFailsAloneWhileEveryOtherIsConfirmed() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            let total = 400
            let refusedIndex = 250
            let missing = uniqueName("missing")
            let messages = (0..<total).map { index in
                index == refusedIndex
                    ? AMQPMessage(exchange: missing, routingKey: "x", body: Array("refused".utf8))
                    : work.message("m\(index)")
            }
            let results = await connection.publish(contentsOf: messages)
            let failed = results.indices.filter { (try? results[$0].get()) == nil }
            #expect(failed == [refusedIndex])
            guard case .failure(.brokerClosed(let code, _, _)) = results[refusedIndex] else {
                Issue.record("expected a 404 for the missing exchange, got \(results[refusedIndex])")
                return
            }
            #expect(code == 404)

            // Back to pipelining: a burst afterwards is confirmed as a whole.
            let after = await connection.publish(contentsOf: (0..<100).map { work.message("after\($0)") })
            #expect(after.allSatisfy { (try? $0.get()) != nil })

            let collector = Collector()
            let consumer = connection.consume(queue: work.queue, prefetch: 200)
            let collecting = consumer.collect(into: collector)
            let expected = Set(
                (0..<total).filter { $0 != refusedIndex }.map { "m\($0)" } + (0..<100).map { "after\($0)" })
            #expect(await eventually(timeout: .seconds(30)) { await collector.unique == expected })
            consumer.cancel()
            await collecting.value
        }
    }

    @Test func consumerStreamEndsWhenTheConnectionShutsDown() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        var configuration = vhost
        configuration.reconnectBackoff = .milliseconds(50)...(.seconds(1))
        let connection = AMQPConnection(configuration: configuration, topology: work.topology, logger: testLogger)
        connection.start()
        try await connection.waitUntilReady(timeout: TestBroker.readyTimeout)
        let consumer = connection.consume(queue: work.queue)
        let ended = Task {
            for await _ in consumer {}; return true
        }
        await connection.shutdown()
        #expect(await ended.value)
        #expect(connection.state == .closed)
        await #expect(throws: AMQPError.shutdown) { try await connection.publish(work.message("late")) }
    }

    @Test func outOfOrderAcksAndANackInBetweenSettleExactlyTheRightDeliveries() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            _ = await connection.publish(contentsOf: (0..<10).map { work.message("m\($0)") })
            let consumer = connection.consume(queue: work.queue, prefetch: 20)
            var iterator = consumer.makeAsyncIterator()
            var held: [AMQPDelivery] = []
            for _ in 0..<10 { held.append(try #require(await iterator.next())) }
            // Ack 9…5 backwards, leave 0…3 for later, send m4 back.
            for delivery in held[5...].reversed() { delivery.ack() }
            held[4].nack(requeue: true)
            let again = try #require(await iterator.next())
            #expect(String(decoding: again.body, as: UTF8.self) == "m4")
            #expect(again.redelivered)
            again.ack()
            for delivery in held[0..<4] { delivery.ack() }
            // Nothing else may come back: everything was settled exactly once.
            try await Task.sleep(for: .milliseconds(500))
            consumer.cancel()
            var extra = 0
            while await iterator.next() != nil { extra += 1 }
            #expect(extra == 0)
        }
        // Quorum queues apply acks through their log: the count may lag a moment; lost acks would requeue and stay.
        #expect(try await queueDrains(vhost: vhost.virtualHost, queue: work.queue))
    }
}

/// Whether `queue` holds no message (ready or unacknowledged) within a few seconds.
func queueDrains(vhost: String, queue: String) async throws -> Bool {
    try await eventually(timeout: .seconds(15), poll: .milliseconds(500)) {
        let listing = try await TestBroker.shared().ctl([
            "list_queues", "-p", vhost, "name", "messages", "--silent", "--no-table-headers",
        ])
        let line = listing.split(separator: "\n").first { $0.hasPrefix(queue) }
        return line?.split(whereSeparator: \.isWhitespace).last == "0"
    }
}
