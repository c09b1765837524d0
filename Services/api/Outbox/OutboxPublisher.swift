import AMQPClient
import Foundation
import GRDB
import Logging
import MostradorServiceKit
import MostradorStorage
import ServiceLifecycle

/// Drains the outbox to the broker: claims a batch of rows (so several api instances can share one database),
/// publishes them with confirms, and deletes only the rows the broker confirmed. While the broker is down the
/// publish waits and rows accumulate; the api keeps accepting requests.
struct OutboxPublisher: Service {
    let committer: GroupCommitter
    let connection: AMQPConnection
    let wakeup: Wakeup
    let logger: Logger
    var batchSize = 500
    /// How long a claim holds before another instance may take the rows over.
    var claimDuration: TimeInterval = 60

    private struct Row: Sendable {
        let id: Int64
        let message: AMQPMessage
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                do {
                    if try await publishBatch() == 0 { await wakeup.wait(timeout: .seconds(1)) }
                } catch {
                    logger.error("outbox publishing failed", metadata: ["error": "\(error)"])
                    await wakeup.wait(timeout: .seconds(1))
                }
            }
        } onGracefulShutdown: {
            wakeup.signal()
        }
    }

    /// Publishes one batch; returns how many rows it handled.
    func publishBatch() async throws -> Int {
        let rows = try await claim()
        guard !rows.isEmpty else { return 0 }
        let results = await connection.publish(contentsOf: rows.map(\.message))
        var published: [Int64] = []
        var failed: [(Int64, String)] = []
        for (row, result) in zip(rows, results) {
            switch result {
            case .success: published.append(row.id)
            case .failure(let error): failed.append((row.id, "\(error)"))
            }
        }
        for (id, error) in failed {
            logger.error("outbox message refused by the broker", metadata: ["outbox_id": "\(id)", "error": "\(error)"])
        }
        try await committer.write { [published, failed] db in
            if !published.isEmpty {
                try db.execute(
                    sql: "DELETE FROM outbox WHERE id IN (\(published.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(published))
            }
            for (id, error) in failed {
                // Back off before the next try; the row stays until the broker takes it.
                try db.execute(
                    sql: "UPDATE outbox SET claimed_until = ?, last_error = ? WHERE id = ?",
                    arguments: [Date().addingTimeInterval(30), error, id])
            }
        }
        return rows.count
    }

    private func claim() async throws -> [Row] {
        let now = Date()
        let until = now.addingTimeInterval(claimDuration)
        let limit = batchSize
        let rows = try await committer.write { db in
            try GRDB.Row.fetchAll(
                db,
                sql: """
                    UPDATE outbox SET claimed_until = ?, attempts = attempts + 1
                    WHERE id IN (SELECT id FROM outbox WHERE claimed_until IS NULL OR claimed_until < ?
                                 ORDER BY id LIMIT ?)
                    RETURNING id, message_id, exchange, routing_key, type, correlation_id, schema_version, body,
                              created_at
                    """,
                arguments: [until, now, limit]
            ).map { row in
                Row(
                    id: row["id"],
                    message: AMQPMessage(
                        exchange: row["exchange"], routingKey: row["routing_key"],
                        body: [UInt8](row["body"] as Data),
                        properties: AMQPProperties(
                            contentType: "application/json", messageID: row["message_id"], type: row["type"],
                            correlationID: row["correlation_id"], timestamp: row["created_at"],
                            headers: ["x-schema-version": .int(row["schema_version"])]
                        )
                    )
                )
            }
        }
        return rows.sorted { $0.id < $1.id }
    }
}
