import Foundation
import MostradorContracts
import MostradorSQL

/// A message to store: the one shape every writer (webhook, intake, technicians, visitors, uploads, system notes)
/// hands to `Messages.insert`.
struct NewMessage: Sendable {
    var role: MessageRole
    var content: String
    var type: MessageType = .text
    var agentID: Int64?
    var clientID: String?
    var externalID: String?
    var externalTimestamp: Date?
    /// `queued` for what goes out through WhatsApp; nil for what never leaves Mostrador.
    var deliveryStatus: DeliveryStatus?
    /// A file already on disk, linked to the message in the same transaction.
    var attachment: StoredAttachment?
    var caption: String?
    /// The message this one answers (same ticket).
    var replyToID: Int64?

    static func note(_ text: String) -> NewMessage { NewMessage(role: .system, content: text) }
}

/// A stored message with everything any reader shows (seed 001 `historial`, seed 002 messages, seed 003 frames).
struct MessageRow: Sendable, Equatable {
    let id: Int64
    let ticketID: Int64
    let role: MessageRole
    let content: String
    let type: MessageType
    let createdAt: Date
    let readAt: Date?
    let clientID: String?
    let agentID: Int64?
    let agentFirstName: String?
    let agentLastName: String?
    let agentName: String?
    let customerName: String?
    let deliveryStatus: DeliveryStatus?
    let deliveryError: String?
    let deliveryAttempt: Int
    let attachmentID: Int64?
    let attachmentMime: String?
    /// The message this one answers, with a preview of it.
    let quoted: Quoted?
    /// A private note: only agents read it (`Audience.agents`).
    let isNote: Bool

    /// The role agents and customers are shown: `note` for a private note.
    var shownRole: String { isNote ? "note" : role.rawValue }

    struct Quoted: Sendable, Equatable {
        let id: Int64
        let role: MessageRole
        let content: String
    }

    init(row: Row) {
        id = row["id"]
        ticketID = row["ticket_id"]
        role = row["role"]
        content = row["content"]
        type = row["type"]
        createdAt = row["created_at"]
        readAt = row["read_at"]
        clientID = row["client_id"]
        agentID = row["agent_id"]
        agentFirstName = row["first_name"]
        agentLastName = row["last_name"]
        let full = "\(agentFirstName ?? "") \(agentLastName ?? "")".trimmingCharacters(in: .whitespaces)
        agentName = full.isEmpty ? row["username"] as String? : full
        customerName = row["customer_name"]
        deliveryStatus = row["delivery_status"]
        deliveryError = row["delivery_error"]
        deliveryAttempt = row["delivery_attempt"]
        attachmentID = row["attachment_id"]
        attachmentMime = row["attachment_mime"]
        isNote = row["private"]
        if let replyID: Int64 = row["reply_to_id"], let role: MessageRole = row["quoted_role"] {
            quoted = Quoted(
                id: replyID, role: role, content: String((row["quoted_content"] as String? ?? "").prefix(200)))
        } else {
            quoted = nil
        }
    }
}

/// Which side of a conversation is reading: each marks the other side's messages read.
enum ReaderSide: Sendable {
    case agents
    case customer

    init(_ caller: Caller) { self = caller.agent == nil ? .customer : .agents }

    /// The roles whose messages this side reads.
    var counterpartRoles: String { self == .agents ? "('user')" : "('tecnico', 'assistant')" }
}

/// Who reads a conversation: customers (web visitors, and everything that goes out to WhatsApp) never read
/// private notes. Every read of messages says which; there is no default.
enum Audience: Sendable {
    case customer
    case agents

    init(_ caller: Caller?) { self = caller?.agent == nil ? .customer : .agents }

    /// The condition on `m` (the messages table) that keeps what this audience may read.
    var condition: String { self == .agents ? "TRUE" : "NOT m.private" }
}

/// Messages: the one insert path (which also records `MessageCreated`), the one row model and its one SELECT.
struct Messages: Sendable {
    let reader: SQLDatabase

    static let select = """
        SELECT m.*, a.first_name, a.last_name, a.username, c.name AS customer_name, att.id AS attachment_id,
               att.mime AS attachment_mime, q.role AS quoted_role, q.content AS quoted_content
        FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN customers c ON c.id = t.customer_id
        LEFT JOIN agents a ON a.id = m.agent_id LEFT JOIN attachments att ON att.message_id = m.id
        LEFT JOIN messages q ON q.id = m.reply_to_id
        """

    // MARK: Writing (inside a caller's transaction)

    /// Stores `message` on `ticket`, links its attachment, moves the ticket's activity times and records
    /// `MessageCreated` in the outbox. Returns the new id.
    static func insert(_ message: NewMessage, on ticket: TicketFacts, db: Database) throws -> Int64 {
        let now = Date()
        try db.cachedStatement(
            sql: """
                INSERT INTO messages (ticket_id, role, content, type, agent_id, client_id, external_id,
                                      external_timestamp, delivery_status, delivery_updated_at, created_at,
                                      reply_to_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            ticket.id, message.role, message.content, message.type, message.agentID, message.clientID,
            message.externalID, message.externalTimestamp, message.deliveryStatus,
            message.deliveryStatus == nil ? nil : now, now, message.replyToID,
        ])
        let id = db.lastInsertedRowID
        if let attachment = message.attachment {
            try AttachmentStore.link(attachment, ticketID: ticket.id, messageID: id, caption: message.caption, db: db)
        }
        if message.role != .system {
            try db.cachedStatement(sql: "UPDATE tickets SET last_message_at = ?, updated_at = ? WHERE id = ?")
                .execute(arguments: [now, now, ticket.id])
        }
        try Outbox.add(
            MessageCreated(
                ticketID: ticket.id, messageID: id, role: message.role, channel: ticket.channel,
                preview: String(message.content.prefix(120)), createdAt: now, assignedAgentID: ticket.assignedAgentID,
                customerName: ticket.customerName),
            in: db)
        return id
    }

    /// The message of `ticketID` a channel knows as `channelID` (its id for a customer's message, or the id it gave
    /// a message Mostrador sent): what a WhatsApp reply quotes. Nil when it is not (or no longer) there.
    static func quoted(channelID: String, ticketID: Int64, db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id FROM messages WHERE ticket_id = ?1 AND (external_id = ?2 OR provider_message_id = ?2)
                    ORDER BY id LIMIT 1
                    """),
            arguments: [ticketID, channelID])
    }

    /// The channel's id of message `id` of `ticketID` (what a reply to it names): the customer's message id, or the
    /// id the channel gave a message Mostrador sent. Throws `.notFound` when `id` is not a message of the ticket.
    static func channelID(of id: Int64, ticketID: Int64, db: Database) throws -> String? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT external_id, provider_message_id FROM messages
                        WHERE id = ? AND ticket_id = ? AND NOT private
                        """),
                arguments: [id, ticketID])
        else { throw ConversationProblem.invalid("El mensaje citado (\(id)) no es de este ticket") }
        return row["external_id"] as String? ?? row["provider_message_id"] as String?
    }

    /// The message a writer already stored under `clientID` on this ticket (a resent `client_id` is not stored twice).
    static func id(clientID: String, ticketID: Int64, db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT id FROM messages WHERE ticket_id = ? AND client_id = ?"),
            arguments: [ticketID, clientID])
    }

    /// The message the bridge already delivered under this `id_mensaje`.
    static func inbound(externalID: String, db: Database) throws -> (messageID: Int64, ticketID: Int64)? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, ticket_id FROM messages WHERE external_id = ?"),
            arguments: [externalID]
        ).map { ($0["id"], $0["ticket_id"]) }
    }

    /// Applies a relay report, never moving a message backwards (a late `retrying` does not undo `sent`).
    static func applyDelivery(_ update: DeliveryUpdated, db: Database) throws {
        guard
            let current = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT delivery_status FROM messages WHERE id = ? AND ticket_id = ?"),
                arguments: [update.messageID, update.ticketID])
        else { return }
        let status = (current["delivery_status"] as DeliveryStatus?) ?? .queued
        guard update.status.mayFollow(status) else { return }
        try db.cachedStatement(
            sql: """
                UPDATE messages SET delivery_status = ?, delivery_attempt = ?, delivery_error = ?,
                    provider_message_id = COALESCE(?, provider_message_id), delivery_updated_at = ?
                WHERE id = ?
                """
        ).execute(arguments: [
            update.status, update.attempt, update.status == .sent ? nil : update.reason, update.providerMessageID,
            update.at, update.messageID,
        ])
    }

    /// Applies a channel's status to the message it knows as `providerID`, never backwards — except `failed`
    /// after `sent` (WhatsApp accepted the message, then could not deliver it). Returns the message changed; a
    /// status for a message the relay has not reported sent yet is kept in `channel_statuses` (nil).
    static func applyChannelStatus(_ status: ChannelStatus, db: Database) throws -> (ticketID: Int64, messageID: Int64)?
    {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT id, ticket_id, delivery_status FROM messages WHERE provider_message_id = ? LIMIT 1"),
                arguments: [status.providerID])
        else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO channel_statuses (channel, provider_message_id, status, reason, at, received_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [status.channel, status.providerID, status.status, status.reason, status.at, Date()])
            return nil
        }
        let current = (row["delivery_status"] as DeliveryStatus?) ?? .queued
        let moves =
            status.status == .failed
            ? current == .sent || current.rank < DeliveryStatus.sent.rank : status.status.rank > current.rank
        guard moves else { return nil }
        let messageID: Int64 = row["id"]
        try db.cachedStatement(
            sql: "UPDATE messages SET delivery_status = ?, delivery_error = ?, delivery_updated_at = ? WHERE id = ?"
        ).execute(arguments: [status.status, status.status == .failed ? status.reason : nil, status.at, messageID])
        return (row["ticket_id"], messageID)
    }

    /// Applies the statuses that arrived before the message had its channel id, oldest first, and forgets them.
    static func applyPendingChannelStatuses(providerID: String, db: Database) throws -> Bool {
        let pending = try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT channel, status, reason, at FROM channel_statuses WHERE provider_message_id = ? ORDER BY id"
            ),
            arguments: [providerID])
        guard !pending.isEmpty else { return false }
        try db.cachedStatement(sql: "DELETE FROM channel_statuses WHERE provider_message_id = ?")
            .execute(arguments: [providerID])
        var changed = false
        for row in pending {
            guard let status = row["status"] as DeliveryStatus? else { continue }
            let update = ChannelStatus(
                channel: row["channel"], providerID: providerID, status: status, reason: row["reason"], at: row["at"])
            changed = try applyChannelStatus(update, db: db) != nil || changed
        }
        return changed
    }

    static func markRead(ticketID: Int64, by side: ReaderSide, db: Database) throws {
        try db.execute(
            sql: """
                UPDATE messages SET read_at = ? WHERE ticket_id = ? AND read_at IS NULL AND NOT private
                AND role IN \(side.counterpartRoles)
                """,
            arguments: [Date(), ticketID])
    }

    /// Marks the given messages read when they are the other side's; returns how many changed.
    static func markRead(ids: [Int64], by side: ReaderSide, db: Database) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        try db.execute(
            sql: """
                UPDATE messages SET read_at = ? WHERE read_at IS NULL AND NOT private AND role IN \(side.counterpartRoles)
                AND id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                """,
            arguments: [Date()] + StatementArguments(ids))
        return db.changesCount
    }

    // MARK: Reading

    func after(_ messageID: Int64, ticketID: Int64, limit: Int = 500, for audience: Audience) async throws
        -> [MessageRow]
    {
        try await reader.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        \(Self.select) WHERE m.ticket_id = ? AND m.id > ? AND \(audience.condition)
                        ORDER BY m.id LIMIT ?
                        """),
                arguments: [ticketID, messageID, limit]
            ).map(MessageRow.init(row:))
        }
    }

    /// The newest `count` messages, oldest first.
    func recent(ticketID: Int64, count: Int, for audience: Audience) async throws -> [MessageRow] {
        try await page(ticketID: ticketID, page: 1, size: count, for: audience).messages
    }

    /// A page of the history, oldest first within the page; page 1 is the newest.
    func page(ticketID: Int64, page: Int, size: Int, for audience: Audience) async throws
        -> (messages: [MessageRow], total: Int)
    {
        try await reader.read { db in
            let total =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM messages m WHERE m.ticket_id = ? AND \(audience.condition)",
                    arguments: [ticketID]) ?? 0
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        \(Self.select) WHERE m.ticket_id = ? AND \(audience.condition)
                        ORDER BY m.id DESC LIMIT ? OFFSET ?
                        """),
                arguments: [ticketID, size, (page - 1) * size]
            ).map(MessageRow.init(row:))
            return (rows.reversed(), total)
        }
    }

    /// A ticket's private notes, oldest first.
    func notes(ticketID: Int64) async throws -> [MessageRow] {
        try await reader.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "\(Self.select) WHERE m.ticket_id = ? AND m.private ORDER BY m.id"),
                arguments: [ticketID]
            ).map(MessageRow.init(row:))
        }
    }

    func find(_ id: Int64, ticketID: Int64, for audience: Audience) async throws -> MessageRow? {
        try await reader.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "\(Self.select) WHERE m.id = ? AND m.ticket_id = ? AND \(audience.condition)"),
                arguments: [id, ticketID]
            ).map(MessageRow.init(row:))
        }
    }

    func delivery(messageID: Int64) async throws -> (status: DeliveryStatus?, error: String?)? {
        try await reader.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT delivery_status, delivery_error FROM messages WHERE id = ?"),
                arguments: [messageID]
            ).map { ($0["delivery_status"], $0["delivery_error"]) }
        }
    }

    /// The tickets the given messages belong to.
    func tickets(ofMessages ids: [Int64]) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return try await reader.read { db in
            Set(
                try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT ticket_id FROM messages
                        WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                        """,
                    arguments: StatementArguments(ids)))
        }
    }

    func unreadCount(ticketID: Int64, for side: ReaderSide) async throws -> Int {
        try await reader.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM messages WHERE ticket_id = ? AND read_at IS NULL AND NOT private
                    AND role IN \(side.counterpartRoles)
                    """,
                arguments: [ticketID]) ?? 0
        }
    }
}

extension DeliveryStatus {
    /// Progress order: a report only applies when it does not go back.
    var rank: Int {
        switch self {
        case .queued: 0
        case .retrying, .waitingBridge: 1
        case .failed: 2
        case .sent: 3
        case .delivered: 4
        case .read: 5
        }
    }

    func mayFollow(_ current: DeliveryStatus) -> Bool {
        rank >= current.rank
    }

    /// Whether a technician waiting on `enviar-mensaje` has an answer.
    var isDecisive: Bool {
        switch self {
        case .sent, .delivered, .read, .waitingBridge, .failed: true
        case .queued, .retrying: false
        }
    }
}

/// What a WhatsApp channel said about a message it carried (`sent`, `delivered`, `read`, `failed`).
struct ChannelStatus: Sendable, Equatable {
    /// `WhatsAppChannel` raw value.
    var channel: String
    /// The channel's id for the message (the Cloud API's `wamid`), which the relay reported on `sent`.
    var providerID: String
    var status: DeliveryStatus
    var reason: String?
    var at: Date
}
