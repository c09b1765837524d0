import AMQPClient
import Foundation
import Logging
import Metrics
import MostradorSQL
import MostradorServiceKit
import MostradorStorage
import MostradorTracing
import ServiceLifecycle

/// Drains the outbox to the broker: claims a batch of rows (so several api instances can share one database),
/// publishes them with confirms, and deletes only the rows the broker confirmed. While the broker is down the
/// publish waits and rows accumulate; the api keeps accepting requests.
///
/// Order: rows with the same `correlation_id` (one ticket) reach the broker in id order, also across failures and
/// instances. A ticket's rows go out one after the other within a batch (each after the broker confirmed the one
/// before; other tickets' rows travel alongside), a row the broker refused holds back every later row of its
/// ticket until it is taken (with backoff; other tickets keep flowing), and a ticket with a row claimed by any
/// instance is not claimed by another. A row refused `attemptsAlert` times or more is logged as an error and
/// counted in `mostrador_outbox_stuck_rows`.
struct OutboxPublisher: Service {
    let committer: SQLCommitter
    let connection: AMQPConnection
    let wakeup: Wakeup
    let logger: Logger
    var batchSize = 500
    /// A batch stops once its bodies reach this many bytes (it always takes at least one row): a run of technicians'
    /// files, each carried whole in its `relay.send`, is published a few at a time, not held in memory together.
    var batchBytes = 32 << 20
    /// How long a claim holds before another instance may take the rows over.
    var claimDuration: TimeInterval = 60
    /// The wait before a refused row is tried again: `firstBackoff`, doubling up to `maximumBackoff`.
    var firstBackoff: TimeInterval = 1
    var maximumBackoff: TimeInterval = 30
    /// Tries after which a refused row raises an alert.
    var attemptsAlert = 5

    private static let stuckRows = Gauge(label: "mostrador_outbox_stuck_rows")
    private static let refused = Counter(label: "mostrador_outbox_refused_total")

    struct Row: Sendable {
        let id: Int64
        let correlationID: String?
        let attempts: Int
        let message: AMQPMessage
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            // Cancelled (another service failed, e.g. the HTTP port was taken): stop, or the group never ends.
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
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

    /// The rows of a batch in waves: wave k holds the k-th row of each ticket (rows without a correlation id all
    /// go in the first), each wave in id order.
    static func waves(_ rows: [Row]) -> [[Row]] {
        var waves: [[Row]] = []
        var seen: [String: Int] = [:]
        for row in rows.sorted(by: { $0.id < $1.id }) {
            var wave = 0
            if let ticket = row.correlationID {
                wave = seen[ticket, default: 0]
                seen[ticket] = wave + 1
            }
            if wave == waves.count { waves.append([]) }
            waves[wave].append(row)
        }
        return waves
    }

    /// Publishes one batch; returns how many rows it handled.
    func publishBatch() async throws -> Int {
        let rows = try await claim()
        guard !rows.isEmpty else { return 0 }
        var published: [Int64] = []
        var failed: [(row: Row, error: String)] = []
        // Later rows of a ticket whose row was refused in this batch: released unsent, held back by that row.
        var held: [Int64] = []
        var blocked: Set<String> = []
        for wave in Self.waves(rows) {
            let sending = wave.filter { row in row.correlationID.map { !blocked.contains($0) } ?? true }
            held += wave.filter { row in row.correlationID.map { blocked.contains($0) } ?? false }.map(\.id)
            let results = await connection.publish(contentsOf: sending.map(\.message))
            for (row, result) in zip(sending, results) {
                switch result {
                case .success:
                    published.append(row.id)
                case .failure(let error):
                    failed.append((row, "\(error)"))
                    if let ticket = row.correlationID { blocked.insert(ticket) }
                }
            }
        }
        for (row, error) in failed {
            let metadata: Logger.Metadata = [
                "outbox_id": "\(row.id)", "correlation_id": "\(row.correlationID ?? "-")",
                "attempts": "\(row.attempts)", "error": "\(error)",
            ]
            if row.attempts >= attemptsAlert {
                logger.error(
                    "outbox message keeps being refused: later messages of its ticket are held", metadata: metadata)
            } else {
                logger.warning("outbox message refused by the broker: retried with backoff", metadata: metadata)
            }
        }
        if !failed.isEmpty { Self.refused.increment(by: failed.count) }
        let now = Date()
        let stuck = try await committer.write {
            [published, failed, held, attemptsAlert, firstBackoff, maximumBackoff] db -> Int? in
            if !published.isEmpty {
                try db.execute(
                    sql: "DELETE FROM outbox WHERE id IN (\(published.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(published))
            }
            if !held.isEmpty {
                // Not tried: the claim is given back, and so is the attempt it counted.
                try db.execute(
                    sql: """
                        UPDATE outbox SET claimed_until = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
                        WHERE id IN (\(held.map { _ in "?" }.joined(separator: ",")))
                        """,
                    arguments: StatementArguments(held))
            }
            for (row, error) in failed {
                // Back off before the next try (1 s, 2 s, 4 s… up to `maximumBackoff`); the row stays until the
                // broker takes it, and holds its ticket's later rows meanwhile.
                let backoff = min(maximumBackoff, firstBackoff * Double(1 << min(max(row.attempts - 1, 0), 20)))
                try db.execute(
                    sql: "UPDATE outbox SET claimed_until = ?, last_error = ? WHERE id = ?",
                    arguments: [now.addingTimeInterval(backoff), error, row.id])
            }
            guard !failed.isEmpty else { return nil }
            return try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM outbox WHERE attempts >= ? AND last_error IS NOT NULL",
                arguments: [attemptsAlert])
        }
        if let stuck {
            Self.stuckRows.record(stuck)
        } else if !published.isEmpty {
            Self.stuckRows.record(0)
        }
        return rows.count
    }

    private func claim() async throws -> [Row] {
        let now = Date()
        let until = now.addingTimeInterval(claimDuration)
        let limit = batchSize
        let byteBudget = batchBytes
        let rows = try await committer.write { db in
            // A ticket with a row claimed now (being published by an instance, or refused and backing off) waits:
            // its later rows must not overtake that row.
            try MostradorSQL.Row.fetchAll(
                db,
                sql: """
                    UPDATE outbox SET claimed_until = ?, attempts = attempts + 1
                    WHERE id IN (
                        SELECT id FROM (
                            SELECT id, SUM(size) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) - size AS before
                            FROM (
                                SELECT id, length(body) AS size FROM outbox
                                WHERE (claimed_until IS NULL OR claimed_until < ?)
                                    AND (correlation_id IS NULL OR correlation_id NOT IN (
                                        SELECT correlation_id FROM outbox
                                        WHERE claimed_until >= ? AND correlation_id IS NOT NULL))
                                ORDER BY id LIMIT ?) AS candidates) AS windowed
                        WHERE before < ?)
                    RETURNING id, message_id, exchange, routing_key, type, correlation_id, schema_version, body,
                              created_at, attempts, traceparent
                    """,
                arguments: [until, now, now, limit, byteBudget]
            ).map { row in
                var headers: [String: AMQPFieldValue] = ["x-schema-version": .int(row["schema_version"])]
                if let traceparent: String = row["traceparent"] { headers[TraceContext.header] = .string(traceparent) }
                return Row(
                    id: row["id"], correlationID: row["correlation_id"], attempts: row["attempts"],
                    message: AMQPMessage(
                        exchange: row["exchange"], routingKey: row["routing_key"],
                        body: [UInt8](row["body"] as Data),
                        properties: AMQPProperties(
                            contentType: "application/json", messageID: row["message_id"], type: row["type"],
                            correlationID: row["correlation_id"], timestamp: row["created_at"],
                            headers: headers
                        )
                    )
                )
            }
        }
        return rows.sorted { $0.id < $1.id }
    }
}
