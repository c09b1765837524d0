import Foundation
import GRDB
import Logging
import MostradorContracts
import MostradorStorage

/// The relay's memory of what it sent, keyed by AMQP message id (stable across retries and redeliveries), in its
/// own SQLite file. A message redelivered after a crash is not sent again when the ledger says it was sent.
///
/// Each customer has a line: a message that cannot go out now (the bridge is down, or it waits for a retry) takes a
/// place in it (`line_order`), and every later message to that customer queues behind it, so no message overtakes
/// an earlier one — not even across retries.
struct DeliveryLedger: Sendable {
    enum Status: String, Sendable, CaseIterable {
        /// Being resent from the line; a crash here means: send again, same idempotency key.
        case sending
        case sent
        /// Waiting in its customer's line for the bridge (or for the message ahead of it).
        case parked
        /// Waiting in the delay queues for its next attempt; it holds its customer's line meanwhile.
        case retrying
        case failed

        /// Whether the message still has to go out.
        var isPending: Bool { [.sending, .parked, .retrying].contains(self) }
    }

    struct Entry: Sendable, Equatable {
        let messageID: String
        let command: RelaySend
        let status: Status
        let attempts: Int
        let providerID: String?
        var reason: String? = nil
        /// Its place in its customer's line, once it had to wait.
        var lineOrder: Int64? = nil
        /// Whether the api was told of its final status (`sent`, `failed`).
        var reported = true
        /// The relay process that wrote this state (see ``Relay/incarnation``).
        var incarnation: String? = nil
        var updatedAt = Date()
    }

    let committer: GroupCommitter<DatabasePool>
    var reader: DatabasePool { committer.writer }

    static func open(
        dataDirectory: String, durability: DatabaseFactory.Durability = .full, logger: Logger
    ) throws -> DeliveryLedger {
        let path = "\(dataDirectory)/relay-ledger.sqlite"
        let pool = try DatabaseFactory.open(path: path, durability: durability)
        try DatabaseFactory.migrate(migrator, pool, path: path)
        return DeliveryLedger(committer: GroupCommitter<DatabasePool>(writer: pool, logger: logger))
    }

    static var migrator: DatabaseMigrator {
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
        // Retries hold their customer's line; final statuses remember whether the api heard of them; every state
        // says which process wrote it. SQLite cannot change a CHECK constraint in place: the table is rebuilt.
        migrator.registerMigration("v2: lines, retries and reports") { db in
            try db.execute(
                sql: """
                    CREATE TABLE deliveries_v2 (
                        id INTEGER PRIMARY KEY,
                        message_id TEXT NOT NULL UNIQUE,
                        ticket_id INTEGER NOT NULL,
                        message_ref INTEGER NOT NULL,
                        recipient TEXT NOT NULL,
                        text TEXT NOT NULL,
                        status TEXT NOT NULL
                            CHECK (status IN ('sending', 'sent', 'parked', 'retrying', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        provider_id TEXT,
                        reason TEXT,
                        line_order INTEGER,
                        reported INTEGER NOT NULL DEFAULT 1,
                        incarnation TEXT,
                        updated_at DATETIME NOT NULL
                    );
                    INSERT INTO deliveries_v2 (id, message_id, ticket_id, message_ref, recipient, text, status,
                                               attempts, provider_id, reason, line_order, updated_at)
                        SELECT id, message_id, ticket_id, message_ref, recipient, text, status, attempts,
                               provider_id, reason, parked_order, updated_at
                        FROM deliveries;
                    DROP TABLE deliveries;
                    ALTER TABLE deliveries_v2 RENAME TO deliveries;
                    CREATE INDEX deliveries_line ON deliveries(line_order)
                        WHERE status IN ('sending', 'parked', 'retrying');
                    CREATE INDEX deliveries_recipient_line ON deliveries(recipient, line_order)
                        WHERE status IN ('sending', 'parked', 'retrying');
                    CREATE INDEX deliveries_unreported ON deliveries(updated_at) WHERE reported = 0;
                    """)
        }
        // Each message goes out through the channel its conversation came from (NULL: the seed bridge).
        migrator.registerMigration("v3: channels") { db in
            try db.execute(sql: "ALTER TABLE deliveries ADD COLUMN channel TEXT")
        }
        // A message may carry a file, answer a customer's message or be an approved template. The file's bytes stay
        // only while the message may still be sent (they are dropped once it is sent or failed).
        migrator.registerMigration("v4: files, replies and templates") { db in
            try db.execute(
                sql: """
                    ALTER TABLE deliveries ADD COLUMN reply_to TEXT;
                    ALTER TABLE deliveries ADD COLUMN attachment_mime TEXT;
                    ALTER TABLE deliveries ADD COLUMN attachment_name TEXT;
                    ALTER TABLE deliveries ADD COLUMN attachment BLOB;
                    ALTER TABLE deliveries ADD COLUMN template TEXT;
                    """)
        }
        // A message that starts to wait takes `MAX(line_order) + 1`: without an index over every row that maximum
        // read the whole table for each parked message (parking 100,000 took over ten minutes).
        migrator.registerMigration("v5: line order index") { db in
            try db.execute(sql: "CREATE INDEX deliveries_line_order ON deliveries(line_order)")
        }
        return migrator
    }

    /// The condition of the partial indexes over messages still to go (`deliveries_line`, `deliveries_recipient_line`),
    /// spelled exactly as they are: SQLite uses a partial index only for a query that states its condition, and
    /// without them a line's query reads every message ever sent (100,000 parked messages took minutes to drain).
    static func pending(_ table: String? = nil) -> String {
        "\(table.map { "\($0)." } ?? "")status IN ('sending', 'parked', 'retrying')"
    }

    func entry(_ messageID: String) async throws -> Entry? {
        try await reader.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM deliveries WHERE message_id = ?"), arguments: [messageID]
            ).map(Self.entry)
        }
    }

    /// The status of the first message waiting in `recipient`'s line ahead of position `order` (anywhere in the
    /// line when `order` is nil): a newer message must queue behind it. Nil when the line is clear.
    func waitingAhead(recipient: String, before order: Int64? = nil) async throws -> Status? {
        try await reader.read { db in
            try String.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT status FROM deliveries
                        WHERE recipient = ? AND status IN ('sending', 'parked', 'retrying')
                          AND line_order IS NOT NULL AND line_order < ?
                        ORDER BY line_order LIMIT 1
                        """),
                arguments: [recipient, order ?? Int64.max]
            ).flatMap(Status.init(rawValue:))
        }
    }

    /// Messages the line lets go now, oldest first: parked ones, and ones caught mid-resend by a crash (resent
    /// with the same idempotency key). A customer whose line starts with a message waiting for its retry, or with
    /// one waiting for a channel in `down`, is skipped: nothing may overtake it.
    func ready(limit: Int, skipping down: Set<WhatsAppChannel> = []) async throws -> [Entry] {
        let channels = down.map(\.rawValue).sorted()
        return try await reader.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: Self.readySQL(channels: channels.count)),
                arguments: StatementArguments(channels + channels) + [limit]
            ).map(Self.entry)
        }
    }

    /// The query of ``ready(limit:skipping:)`` for that many channels down: it walks the pending messages in line
    /// order and looks each one's customer up by index (pinned by the ledger tests' query plans).
    static func readySQL(channels: Int) -> String {
        let list = Array(repeating: "?", count: channels).joined(separator: ", ")
        return """
            SELECT * FROM deliveries AS d
            WHERE \(pending("d")) AND d.status IN ('parked', 'sending')
              AND COALESCE(d.channel, 'seed') NOT IN (\(list))
              AND NOT EXISTS (SELECT 1 FROM deliveries AS head
                              WHERE head.recipient = d.recipient AND head.line_order < d.line_order
                                AND \(pending("head"))
                                AND (head.status = 'retrying'
                                     OR (head.status IN ('parked', 'sending')
                                         AND COALESCE(head.channel, 'seed') IN (\(list)))))
            ORDER BY d.line_order LIMIT ?
            """
    }

    /// The channels messages are waiting for (parked or caught mid-resend).
    func waitingChannels() async throws -> Set<WhatsAppChannel> {
        try await reader.read { db in
            let names = try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT COALESCE(channel, 'seed') FROM deliveries
                    WHERE \(Self.pending()) AND status IN ('sending', 'parked')
                    """)
            return Set(names.compactMap(WhatsAppChannel.init(rawValue:)))
        }
    }

    /// Messages the monitor has to send once their line lets them: parked ones and ones caught mid-resend (those
    /// waiting for a retry come back through the broker).
    func waitingCount() async throws -> Int {
        try await reader.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM deliveries WHERE \(Self.pending()) AND status IN ('sending', 'parked')"
            ) ?? 0
        }
    }

    /// Final statuses the api has not confirmed hearing of: those of an earlier process, and this process's ones
    /// older than `before` (a report normally follows the record within milliseconds).
    func unreported(incarnation: String, before: Date, limit: Int) async throws -> [Entry] {
        try await reader.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM deliveries
                        WHERE reported = 0 AND (incarnation IS NOT ? OR updated_at < ?)
                        ORDER BY id LIMIT ?
                        """),
                arguments: [incarnation, before, limit]
            ).map(Self.entry)
        }
    }

    /// A state to record: what ``record(_:command:status:attempts:providerID:reason:incarnation:)`` takes.
    struct Change: Sendable {
        let messageID: String
        let command: RelaySend
        let status: Status
        let attempts: Int
        var providerID: String? = nil
        var reason: String? = nil
        var incarnation: String? = nil
    }

    /// Records the state of a message (creating its entry on first sight). A message that starts to wait
    /// (parked, retrying) takes the last place in its customer's line and keeps it until it leaves; `sent` and
    /// `failed` start unreported.
    func record(
        _ messageID: String, command: RelaySend, status: Status, attempts: Int, providerID: String? = nil,
        reason: String? = nil, incarnation: String? = nil
    ) async throws {
        try await record([
            Change(
                messageID: messageID, command: command, status: status, attempts: attempts, providerID: providerID,
                reason: reason, incarnation: incarnation)
        ])
    }

    /// Records several states in one transaction, in order (see the one-change form).
    func record(_ changes: [Change]) async throws {
        guard !changes.isEmpty else { return }
        let templates = try changes.map { change in
            try change.command.template.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        }
        try await committer.write { db in
            let statement = try db.cachedStatement(sql: Self.upsertSQL)
            let now = Date()
            for (change, template) in zip(changes, templates) {
                let command = change.command
                try statement.execute(arguments: [
                    change.messageID, command.ticketID, command.messageID, command.recipient, command.text,
                    change.status.rawValue, change.attempts, change.providerID, change.reason, change.incarnation, now,
                    command.channel, command.replyTo, command.attachment?.mime, command.attachment?.filename,
                    command.attachment?.data, template,
                ])
            }
        }
    }

    private static let upsertSQL = """
        INSERT INTO deliveries (message_id, ticket_id, message_ref, recipient, text, status, attempts,
                                provider_id, reason, line_order, reported, incarnation, updated_at,
                                channel, reply_to, attachment_mime, attachment_name, attachment,
                                template)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                CASE WHEN ?6 IN ('parked', 'retrying')
                     THEN (SELECT COALESCE(MAX(line_order), 0) + 1 FROM deliveries) END,
                ?6 NOT IN ('sent', 'failed'), ?10, ?11, ?12, ?13, ?14, ?15,
                CASE WHEN ?6 IN ('sent', 'failed') THEN NULL ELSE ?16 END, ?17)
        ON CONFLICT (message_id) DO UPDATE SET
            status = excluded.status, attempts = excluded.attempts,
            provider_id = COALESCE(excluded.provider_id, provider_id), reason = excluded.reason,
            line_order = COALESCE(line_order, excluded.line_order),
            reported = excluded.reported, incarnation = excluded.incarnation,
            updated_at = excluded.updated_at,
            attachment = CASE WHEN excluded.status IN ('sent', 'failed') THEN NULL ELSE attachment END
        """

    /// The api confirmed hearing of the final status of `messageID`.
    func markReported(_ messageID: String) async throws {
        try await markReported([messageID])
    }

    /// The api confirmed hearing of the final statuses of `messageIDs` (one transaction).
    func markReported(_ messageIDs: [String]) async throws {
        guard !messageIDs.isEmpty else { return }
        try await committer.write { db in
            let statement = try db.cachedStatement(sql: "UPDATE deliveries SET reported = 1 WHERE message_id = ?")
            for id in messageIDs { try statement.execute(arguments: [id]) }
        }
    }

    private static func entry(_ row: Row) -> Entry {
        Entry(
            messageID: row["message_id"],
            command: RelaySend(
                ticketID: row["ticket_id"], messageID: row["message_ref"], recipient: row["recipient"],
                text: row["text"], channel: row["channel"],
                attachment: (row["attachment"] as Data?).map {
                    RelayAttachment(
                        mime: row["attachment_mime"] ?? "application/octet-stream", filename: row["attachment_name"],
                        data: $0)
                },
                replyTo: row["reply_to"],
                template: (row["template"] as String?).flatMap {
                    try? JSONDecoder().decode(RelayTemplate.self, from: Data($0.utf8))
                }),
            status: Status(rawValue: row["status"]) ?? .failed,
            attempts: row["attempts"],
            providerID: row["provider_id"],
            reason: row["reason"],
            lineOrder: row["line_order"],
            reported: row["reported"],
            incarnation: row["incarnation"],
            updatedAt: row["updated_at"]
        )
    }
}
