import Foundation
import GRDB
import MostradorContracts
import MostradorServiceKit
import MostradorStorage

/// Tickets seen as chat rooms (seed 002): addressed by UUID, with a status of `waiting` (nobody took it yet),
/// `active`, `resolved` or `closed`, an assigned agent, read marks, and web visitors' sessions.
struct ChatStore: Sendable {
    let committer: GroupCommitter
    let outboxWakeup: Wakeup
    /// Live clients hear about every change.
    var live: LiveSignal?
    var reader: DatabasePool { committer.writer }

    enum Problem: Error, Equatable {
        case notFound
        case forbidden(String)
        case closed
        case conflict(String)
        case invalid(String)
    }

    /// A chat room with what lists and details show.
    struct Room: Sendable {
        let ticket: TicketStore.Summary
        let email: String?
        let subject: String?
        let initialMessage: String?
        let agent: Agent?
        let unread: Int
        let lastMessageAt: Date?

        /// The seed's status of a chat room.
        var status: String {
            switch ticket.status {
            case "resolved": "resolved"
            case "closed": "closed"
            default: ticket.assignedAgentID == nil ? "waiting" : "active"
            }
        }
    }

    // MARK: Reading

    /// What a viewer may see of a ticket: admins everything; agents their own chats and unassigned ones.
    static func visibility(for agent: Agent) -> (sql: String, arguments: StatementArguments) {
        agent.role == .admin ? ("1", []) : ("(t.assigned_agent_id IS NULL OR t.assigned_agent_id = ?)", [agent.id])
    }

    static let roomColumns = """
        \(TicketStore.summaryColumns), c.email AS email, t.subject, t.initial_message,
        (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = t.id AND m.role = 'user' AND m.read_at IS NULL) AS unread
        """

    /// Filtered, newest activity first, with the total for pagination.
    func rooms(for agent: Agent, status: String?, page: Int, pageSize: Int) async throws -> (rooms: [Room], total: Int)
    {
        try await reader.read { db in
            var (condition, arguments) = Self.visibility(for: agent)
            switch status {
            case "waiting": condition += " AND t.assigned_agent_id IS NULL AND t.status NOT IN ('resolved', 'closed')"
            case "active":
                condition += " AND t.assigned_agent_id IS NOT NULL AND t.status NOT IN ('resolved', 'closed')"
            case "resolved": condition += " AND t.status = 'resolved'"
            case "closed": condition += " AND t.status = 'closed'"
            default: break
            }
            let total =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM tickets t WHERE \(condition)", arguments: arguments) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.roomColumns) FROM tickets t JOIN customers c ON c.id = t.customer_id
                    WHERE \(condition) ORDER BY COALESCE(t.last_message_at, t.created_at) DESC, t.id DESC
                    LIMIT ? OFFSET ?
                    """,
                arguments: arguments + [pageSize, (page - 1) * pageSize])
            return (try rows.map { try Self.room($0, db: db) }, total)
        }
    }

    func room(uuid: String) async throws -> Room? {
        try await reader.read { db in try Self.room(uuid: uuid, db: db) }
    }

    static func room(uuid: String, db: Database) throws -> Room? {
        try Row.fetchOne(
            db,
            sql: "SELECT \(roomColumns) FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.uuid = ?",
            arguments: [uuid.lowercased()]
        ).map { try room($0, db: db) }
    }

    static func room(_ row: Row, db: Database) throws -> Room {
        let summary = TicketStore.Summary(row: row)
        let agent = try summary.assignedAgentID.flatMap {
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [$0]).map(Agent.init(row:))
        }
        return Room(
            ticket: summary, email: row["email"], subject: row["subject"], initialMessage: row["initial_message"],
            agent: agent, unread: row["unread"], lastMessageAt: summary.lastMessageAt)
    }

    /// A room's id as a UUID, for routes that take the ticket number too.
    func uuid(forTicket id: Int64) async throws -> String? {
        try await reader.read { db in
            try String.fetchOne(db, sql: "SELECT uuid FROM tickets WHERE id = ?", arguments: [id])
        }
    }

    /// A chat message as seed 002 shows it.
    struct ChatMessage: Sendable {
        let id: Int64
        let ticketID: Int64
        let role: String
        let content: String
        let type: String
        let createdAt: Date
        let readAt: Date?
        let agentFirstName: String?
        let agentLastName: String?
        let deliveryStatus: String?
        let attachmentID: Int64?

        init(row: Row) {
            id = row["id"]
            ticketID = row["ticket_id"]
            role = row["role"]
            content = row["content"]
            type = row["type"]
            createdAt = row["created_at"]
            readAt = row["read_at"]
            agentFirstName = row["first_name"]
            agentLastName = row["last_name"]
            deliveryStatus = row["delivery_status"]
            attachmentID = row["attachment_id"]
        }

        /// `user`, `agent`, `assistant` or `system`.
        var senderType: String { role == "tecnico" ? "agent" : role }
    }

    /// Messages of a room in order, marking as read what the reader's counterpart wrote.
    func messages(ticketID: Int64, reader side: Side, after: Int64 = 0) async throws -> [ChatMessage] {
        try await committer.write { db in
            try Self.markRead(ticketID: ticketID, by: side, db: db)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT m.*, a.first_name, a.last_name, att.id AS attachment_id FROM messages m
                    LEFT JOIN agents a ON a.id = m.agent_id
                    LEFT JOIN attachments att ON att.message_id = m.id
                    WHERE m.ticket_id = ? AND m.id > ? ORDER BY m.id
                    """,
                arguments: [ticketID, after]
            ).map(ChatMessage.init(row:))
        }
    }

    /// Which side of the conversation is reading.
    enum Side: Sendable {
        case agents
        case customer

        /// The roles whose messages this side reads.
        var counterpartRoles: String { self == .agents ? "('user')" : "('tecnico', 'assistant')" }
    }

    static func markRead(ticketID: Int64, by side: Side, db: Database) throws {
        try db.execute(
            sql: """
                UPDATE messages SET read_at = ? WHERE ticket_id = ? AND read_at IS NULL
                AND role IN \(side.counterpartRoles)
                """,
            arguments: [Date(), ticketID])
    }

    func markChatRead(ticketID: Int64, by side: Side) async throws {
        try await committer.write { db in try Self.markRead(ticketID: ticketID, by: side, db: db) }
    }

    /// Marks the given messages read; returns the tickets they belong to (for permission checks, done first).
    func tickets(ofMessages ids: [Int64]) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return try await reader.read { db in
            Set(
                try Int64.fetchAll(
                    db,
                    sql:
                        "SELECT DISTINCT ticket_id FROM messages WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(ids)))
        }
    }

    func markRead(messages ids: [Int64]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await committer.write { db in
            try db.execute(
                sql:
                    "UPDATE messages SET read_at = ? WHERE read_at IS NULL AND id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                arguments: [Date()] + StatementArguments(ids))
            return db.changesCount
        }
    }

    func unreadCount(ticketID: Int64, for side: Side) async throws -> Int {
        try await reader.read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM messages WHERE ticket_id = ? AND read_at IS NULL AND role IN \(side.counterpartRoles)",
                arguments: [ticketID]) ?? 0
        }
    }
}
