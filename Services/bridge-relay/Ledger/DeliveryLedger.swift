import Foundation
import GRDB
import Logging
import MostradorContracts
import MostradorStorage

/// The relay's memory of what it sent, keyed by AMQP message id (stable across retries and redeliveries), in its
/// own SQLite file. A message redelivered after a crash is not sent again when the ledger says it was sent; parked
/// messages wait here, in order, while the bridge is down.
struct DeliveryLedger: Sendable {
    enum Status: String, Sendable {
        /// Handed to the bridge, outcome not recorded yet (a crash here means: send again, same idempotency key).
        case sending
        case sent
        case parked
        case failed
    }

    struct Entry: Sendable, Equatable {
        let messageID: String
        let command: RelaySend
        let status: Status
        let attempts: Int
        let providerID: String?
    }

    let committer: GroupCommitter
    var reader: DatabasePool { committer.writer }

    static func open(dataDirectory: String, logger: Logger) throws -> DeliveryLedger {
        let pool = try DatabaseFactory.open(path: "\(dataDirectory)/relay-ledger.sqlite", durability: .normal)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: deliveries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE deliveries (
                        id INTEGER PRIMARY KEY,
                        message_id TEXT NOT NULL UNIQUE,
                        ticket_id INTEGER NOT NULL,
                        message_ref INTEGER NOT NULL,
                        recipient TEXT NOT NULL,
                        text TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'parked', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        provider_id TEXT,
                        reason TEXT,
                        parked_order INTEGER,
                        updated_at DATETIME NOT NULL
                    );
                    CREATE INDEX deliveries_parked ON deliveries(status, parked_order) WHERE status = 'parked';
                    CREATE INDEX deliveries_recipient ON deliveries(recipient) WHERE parked_order IS NOT NULL;
                    """)
        }
        try migrator.migrate(pool)
        return DeliveryLedger(committer: GroupCommitter(writer: pool, logger: logger))
    }

    func entry(_ messageID: String) async throws -> Entry? {
        try await reader.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM deliveries WHERE message_id = ?"), arguments: [messageID]
            ).map(Self.entry)
        }
    }

    /// Whether `recipient` has parked messages, or one being resent from parking (newer ones must queue behind them
    /// to keep the order).
    func hasParked(recipient: String) async throws -> Bool {
        try await reader.read { db in
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM deliveries WHERE recipient = ? AND parked_order IS NOT NULL
                                       AND status IN ('parked', 'sending'))
                        """),
                arguments: [recipient]) ?? false
        }
    }

    /// Parked messages, oldest first.
    func parked(limit: Int) async throws -> [Entry] {
        try await reader.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT * FROM deliveries WHERE status = 'parked' ORDER BY parked_order LIMIT ?"),
                arguments: [limit]
            ).map(Self.entry)
        }
    }

    func parkedCount() async throws -> Int {
        try await reader.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries WHERE status = 'parked'") ?? 0
        }
    }

    /// Records the state of a message (creating its entry on first sight).
    func record(
        _ messageID: String, command: RelaySend, status: Status, attempts: Int, providerID: String? = nil,
        reason: String? = nil
    ) async throws {
        try await committer.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO deliveries (message_id, ticket_id, message_ref, recipient, text, status, attempts,
                                            provider_id, reason, parked_order, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,
                            CASE WHEN ? = 'parked' THEN (SELECT COALESCE(MAX(parked_order), 0) + 1 FROM deliveries)
                            END, ?)
                    ON CONFLICT (message_id) DO UPDATE SET
                        status = excluded.status, attempts = excluded.attempts,
                        provider_id = COALESCE(excluded.provider_id, provider_id), reason = excluded.reason,
                        parked_order = CASE WHEN excluded.status = 'parked'
                            THEN COALESCE(parked_order, excluded.parked_order) ELSE parked_order END,
                        updated_at = excluded.updated_at
                    """
            ).execute(arguments: [
                messageID, command.ticketID, command.messageID, command.recipient, command.text, status.rawValue,
                attempts, providerID, reason, status.rawValue, Date(),
            ])
        }
    }

    private static func entry(_ row: Row) -> Entry {
        Entry(
            messageID: row["message_id"],
            command: RelaySend(
                ticketID: row["ticket_id"], messageID: row["message_ref"], recipient: row["recipient"],
                text: row["text"]),
            status: Status(rawValue: row["status"]) ?? .failed,
            attempts: row["attempts"],
            providerID: row["provider_id"]
        )
    }
}
