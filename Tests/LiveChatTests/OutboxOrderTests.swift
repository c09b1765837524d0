import AMQPClient
import Foundation
import Logging
import MostradorSQL
import MostradorServiceKit
import MostradorStorage
import TestSupport
import Testing

@testable import MostradorAPI

/// One ticket's outbox rows reach the broker in id order even when one is refused (review R9): the refused row
/// holds back the later rows of its ticket until the broker takes it; other tickets keep flowing.
@Suite struct OutboxOrderTests {
    static let logger: Logger = {
        var logger = Logger(label: "outbox-test")
        logger.logLevel = .critical
        return logger
    }()

    struct Fixture {
        let exchange = uniqueName("outbox")
        /// Does not exist until the test declares it: rows sent there are refused.
        let missing = uniqueName("outbox.missing")
        let queue = uniqueName("outbox.q")
    }

    static func insert(_ rows: [(ticket: String, exchange: String, body: String)], db: Database) throws {
        for row in rows {
            try db.execute(
                sql: """
                    INSERT INTO outbox (message_id, exchange, routing_key, type, correlation_id, schema_version, body,
                                        created_at)
                    VALUES (?, ?, 'relay.send', 'relay.send', ?, 1, ?, ?)
                    """,
                arguments: [UUID().uuidString.lowercased(), row.exchange, row.ticket, Data(row.body.utf8), Date()])
        }
    }

    /// Takes everything `queue` holds now, in order.
    static func drain(_ connection: AMQPConnection, _ queue: String) async throws -> [String] {
        var bodies: [String] = []
        while let delivery = try await connection.get(queue: queue) {
            bodies.append(String(decoding: delivery.body, as: UTF8.self))
            delivery.ack()
        }
        return bodies
    }

    /// A fresh virtual host with the fixture's exchange and queue, a ready connection, and an api database with its
    /// running single writer — for `body`, torn down afterwards.
    static func withOutbox(
        _ body: (Fixture, AMQPConnection, AMQPConfiguration, SQLDatabase, SQLCommitter) async throws -> Void
    ) async throws {
        let configuration = try await TestBroker.shared().freshVirtualHost("outbox")
        let fixture = Fixture()
        let connection = AMQPConnection(
            configuration: configuration,
            topology: AMQPTopology(
                exchanges: [.init(fixture.exchange, kind: .topic)],
                queues: [.quorum(fixture.queue, deliveryLimit: 5, deadLetterExchange: nil)],
                bindings: [.init(queue: fixture.queue, exchange: fixture.exchange, routingKey: "#")]),
            logger: Self.logger)
        connection.start()
        defer { Task { await connection.shutdown() } }
        try await connection.waitUntilReady(timeout: TestBroker.readyTimeout)

        let directory = NSTemporaryDirectory() + "mostrador-outbox-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // SQLite in the folder, or a fresh schema of MOSTRADOR_TEST_DATABASE_URL's PostgreSQL server.
        let url = try await TestDatabases.freshSchemaURL()
        let pool = try await APIDatabase.open(
            dataDirectory: directory, url: url, durability: .normal, logger: Self.logger)
        let committer = SQLCommitter(writer: pool, logger: Self.logger)
        let running = Task { try await committer.run() }
        do {
            try await body(fixture, connection, configuration, pool, committer)
        } catch {
            running.cancel()
            await pool.close()
            await TestDatabases.dispose(url)
            throw error
        }
        running.cancel()
        await pool.close()
        await TestDatabases.dispose(url)
    }

    @Test func aRefusedRowHoldsBackTheLaterRowsOfItsTicketOnly() async throws {
        try await Self.withOutbox { fixture, connection, configuration, pool, committer in

            try await committer.write { db in
                try Self.insert(
                    [
                        ("7", fixture.missing, "7-1"), ("8", fixture.exchange, "8-1"), ("7", fixture.exchange, "7-2"),
                        ("7", fixture.exchange, "7-3"), ("8", fixture.exchange, "8-2"),
                    ], db: db)
            }
            var publisher = OutboxPublisher(
                committer: committer, connection: connection, wakeup: Wakeup(), logger: Self.logger)
            // A backoff far longer than this test, so that however slowly the machine drains, the refused row is not
            // tried again until the test itself lets the time pass (below).
            publisher.firstBackoff = 3600
            publisher.maximumBackoff = 3600

            // Ticket 8 goes out; ticket 7's first row is refused and holds its two later rows back.
            #expect(try await publisher.publishBatch() == 5)
            var received = try await Self.drain(connection, fixture.queue)
            #expect(received == ["8-1", "8-2"])
            // While the refused row backs off, nothing of ticket 7 is claimed, however often the publisher looks.
            #expect(try await publisher.publishBatch() == 0)
            #expect(try await Self.drain(connection, fixture.queue).isEmpty)
            let waiting = try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT body, attempts, last_error FROM outbox ORDER BY id")
            }
            #expect(waiting.map { String(decoding: $0["body"] as Data, as: UTF8.self) } == ["7-1", "7-2", "7-3"])
            #expect(waiting.map { $0["attempts"] as Int } == [1, 0, 0])
            #expect((waiting.first?["last_error"] as String?) != nil)

            // The missing exchange appears: the refused row goes out first, then the rows it held.
            let repair = AMQPConnection(
                configuration: configuration,
                topology: AMQPTopology(
                    exchanges: [.init(fixture.missing, kind: .topic)],
                    bindings: [.init(queue: fixture.queue, exchange: fixture.missing, routingKey: "#")]),
                logger: Self.logger)
            repair.start()
            try await repair.waitUntilReady(timeout: TestBroker.readyTimeout)
            await repair.shutdown()
            // The backoff elapses.
            try await committer.write { db in
                try db.execute(
                    sql: "UPDATE outbox SET claimed_until = ? WHERE claimed_until IS NOT NULL",
                    arguments: [Date().addingTimeInterval(-1)])
            }
            let drained = await eventually(timeout: .seconds(60), poll: .milliseconds(200)) {
                _ = try? await publisher.publishBatch()
                let left = try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") }
                return left == 0
            }
            #expect(drained)
            received = try await Self.drain(connection, fixture.queue)
            #expect(received == ["7-1", "7-2", "7-3"])
        }
    }

    /// Big bodies (a technician's file rides whole in its `relay.send`) are published a few at a time: a batch stops
    /// at its byte budget, always taking at least one row, in id order.
    @Test func aBatchStopsAtItsByteBudget() async throws {
        try await Self.withOutbox { fixture, connection, _, _, committer in
            let padding = String(repeating: "x", count: 3000)
            let rows = [
                ("1", fixture.exchange, "1-" + padding), ("2", fixture.exchange, "2-" + padding),
                ("3", fixture.exchange, "3-" + padding), ("4", fixture.exchange, "4-small"),
            ]
            try await committer.write { db in try Self.insert(rows, db: db) }
            var publisher = OutboxPublisher(
                committer: committer, connection: connection, wakeup: Wakeup(), logger: Self.logger)
            publisher.batchBytes = 5000
            // 3,002 bytes, then 6,004 > 5,000: two rows; then the third (alone over the budget) and the small one.
            #expect(try await publisher.publishBatch() == 2)
            #expect(try await publisher.publishBatch() == 2)
            #expect(try await publisher.publishBatch() == 0)
            let received = try await Self.drain(connection, fixture.queue).map { $0.prefix { $0 != "-" } }
            #expect(received == ["1", "2", "3", "4"])
        }
    }

    /// Within one batch a ticket's rows travel in waves (each after the one before was confirmed), others alongside.
    @Test func aBatchSendsEachTicketsRowsInWaves() {
        func row(_ id: Int64, _ ticket: String?) -> OutboxPublisher.Row {
            OutboxPublisher.Row(
                id: id, correlationID: ticket, attempts: 1,
                message: AMQPMessage(exchange: "x", routingKey: "k", body: []))
        }
        let waves = OutboxPublisher.waves([
            row(5, "b"), row(1, "a"), row(2, "b"), row(3, "a"), row(4, nil), row(6, "a"),
        ])
        #expect(waves.map { $0.map(\.id) } == [[1, 2, 4], [3, 5], [6]])
    }
}
