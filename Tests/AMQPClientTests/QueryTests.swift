import AMQPClient
import Foundation
import TestSupport
import Testing

@Suite("Queue depth and basic.get")
struct QueryTests {
    @Test func queueDepthCountsReadyMessagesAndConsumers() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            let empty = try await connection.queueDepth(work.queue)
            #expect(empty.messages == 0 && empty.consumers == 0)
            for index in 0..<5 { try await connection.publish(work.message("m\(index)")) }
            #expect(try await connection.queueDepth(work.queue).messages == 5)

            let consumer = connection.consume(queue: work.deadQueue)
            #expect(await eventually { (try? await connection.queueDepth(work.deadQueue).consumers) == 1 })
            consumer.cancel()
        }
    }

    @Test func queueDepthOfAMissingQueueFailsWith404AndTheConnectionCarriesOn() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            await #expect {
                _ = try await connection.queueDepth("no-such-queue")
            } throws: { error in
                guard case .brokerClosed(let code, _, _) = error as? AMQPError else { return false }
                return code == 404
            }
            try await connection.publish(work.message("still fine"))
            #expect(try await connection.queueDepth(work.queue).messages == 1)
            #expect(connection.isReady)
        }
    }

    @Test func getTakesMessagesOneByOneAndSettlesThem() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            #expect(try await connection.get(queue: work.queue) == nil)
            try await connection.publish(work.message("first"))
            try await connection.publish(work.message("second"))

            let first = try #require(try await connection.get(queue: work.queue))
            #expect(String(decoding: first.body, as: UTF8.self) == "first")
            #expect(first.queue == work.queue && first.exchange == work.exchange && first.routingKey == "test")
            first.nack(requeue: true)
            let again = try #require(try await connection.get(queue: work.queue))
            #expect(String(decoding: again.body, as: UTF8.self) == "first")
            #expect(again.redelivered)
            again.ack()

            let second = try #require(try await connection.get(queue: work.queue))
            #expect(String(decoding: second.body, as: UTF8.self) == "second")
            second.reject()
            let dead = try await eventuallyValue { try await connection.get(queue: work.deadQueue) }
            #expect(dead.map { String(decoding: $0.body, as: UTF8.self) } == "second")
            dead?.ack()

            #expect(await eventually { (try? await connection.queueDepth(work.queue).messages) == 0 })
            #expect(try await connection.get(queue: work.queue) == nil)
        }
    }

    @Test func settlingAfterTheQueryChannelClosedLeavesTheMessageQueuedAndTheConnectionUp() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        try await withConnection(vhost, topology: work.topology) { connection in
            try await connection.publish(work.message("kept"))
            let taken = try #require(try await connection.get(queue: work.queue))
            // A 404 closes the channel the message was taken on: the broker puts it back.
            _ = try? await connection.queueDepth("no-such-queue")
            taken.ack()
            let back = try await eventuallyValue { try await connection.get(queue: work.queue) }
            #expect(back.map { String(decoding: $0.body, as: UTF8.self) } == "kept")
            #expect(back?.redelivered == true)
            back?.ack()
            #expect(connection.isReady)
        }
    }

    @Test func queriesTimeOutWithoutABrokerAndFailAfterShutdown() async throws {
        var configuration = AMQPConfiguration(port: 1)
        configuration.operationTimeout = .milliseconds(500)
        configuration.reconnectBackoff = .milliseconds(50)...(.milliseconds(200))
        var quiet = testLogger
        quiet.logLevel = .critical
        let connection = AMQPConnection(configuration: configuration, logger: quiet)
        connection.start()
        await #expect {
            _ = try await connection.queueDepth("anything")
        } throws: { error in
            if case .timeout = error as? AMQPError { true } else { false }
        }
        await #expect {
            _ = try await connection.get(queue: "anything")
        } throws: { error in
            if case .timeout = error as? AMQPError { true } else { false }
        }
        await connection.shutdown()
        await #expect(throws: AMQPError.shutdown) { _ = try await connection.queueDepth("anything") }
        await #expect(throws: AMQPError.shutdown) { _ = try await connection.get(queue: "anything") }
    }
}

/// Polls `body` until it returns a value (or the deadline passes, then nil).
private func eventuallyValue<T>(
    timeout: Duration = .seconds(20), _ body: () async throws -> T?
) async throws -> T? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    return nil
}
