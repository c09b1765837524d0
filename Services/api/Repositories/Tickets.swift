import Foundation
import MostradorContracts
import MostradorSQL

/// What the write rules and the access policy need to know about a ticket.
struct TicketFacts: Sendable, Equatable {
    let id: Int64
    let uuid: String
    let status: TicketStatus
    let channel: Channel
    let customerID: Int64
    let customerName: String?
    let assignedAgentID: Int64?
    /// The verified WhatsApp address replies go to (nil for web chats).
    let replyAddress: String?
    /// The WhatsApp channel replies go through (`WhatsAppChannel`; nil: the seed bridge).
    let replyChannel: String?
    let language: String
    /// Agents invited to the chat besides the assigned one (`ticket_participants`).
    let participantIDs: Set<Int64>

    init(row: Row) {
        id = row["id"]
        uuid = row["uuid"]
        status = row["status"]
        channel = row["channel"]
        customerID = row["customer_id"]
        customerName = row["customer_name"]
        assignedAgentID = row["assigned_agent_id"]
        replyAddress = row["reply_address"]
        replyChannel = row["reply_channel"]
        language = row["language"]
        participantIDs = Set(
            (row["participant_ids"] as String?)?.split(separator: ",").compactMap { Int64($0) } ?? [])
    }

    /// Whether `agent` is the assignee or a participant.
    func involves(_ agentID: Int64) -> Bool {
        assignedAgentID == agentID || participantIDs.contains(agentID)
    }

    static let select = """
        SELECT t.id, t.uuid, t.status, t.channel, t.customer_id, t.assigned_agent_id, t.reply_address,
               t.reply_channel, t.language,
               c.name AS customer_name,
               (SELECT group_concat(p.agent_id) FROM ticket_participants p WHERE p.ticket_id = t.id)
                   AS participant_ids
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        """

    static func fetch(id: Int64, db: Database) throws -> TicketFacts? {
        try Row.fetchOne(db.cachedStatement(sql: "\(select) WHERE t.id = ?"), arguments: [id]).map(Self.init(row:))
    }

    /// A ticket by number (`123`) or chat room UUID.
    static func fetch(key: String, db: Database) throws -> TicketFacts? {
        if let id = Int64(key), id > 0 { return try fetch(id: id, db: db) }
        guard UUID(uuidString: key) != nil else { return nil }
        return try Row.fetchOne(db.cachedStatement(sql: "\(select) WHERE t.uuid = ?"), arguments: [key.lowercased()])
            .map(Self.init(row:))
    }
}

/// A ticket as lists, headers and chat rooms show it.
struct TicketSummary: Sendable {
    let id: Int64
    let uuid: String
    let status: TicketStatus
    let channel: Channel
    let category: String
    let confidence: Double?
    let needsReview: Bool
    let customerID: Int64
    let customerName: String?
    /// WhatsApp tickets: the verified reply address, for display. Web chats: what the visitor typed (a claim).
    let phone: String?
    let email: String?
    /// Whether `phone` was proven by a channel (false for what a web visitor typed).
    let phoneVerified: Bool
    let description: String?
    let equipment: String?
    let assetTag: String?
    let location: String?
    let subject: String?
    let initialMessage: String?
    let assignedAgentID: Int64?
    let lastMessage: String?
    let unread: Int
    let createdAt: Date
    let updatedAt: Date
    let lastMessageAt: Date?
    let firstResponseAt: Date?
    let resolvedAt: Date?
    let closedAt: Date?
    let labels: [TicketLabel]
    let outOfHours: Bool

    init(row: Row) {
        id = row["id"]
        uuid = row["uuid"]
        status = row["status"]
        channel = row["channel"]
        category = row["category"]
        confidence = row["category_confidence"]
        needsReview = row["needs_review"]
        customerID = row["customer_id"]
        customerName = row["customer_name"]
        let reply = (row["reply_address"] as String?).flatMap { try? SenderAddress($0).display }
        phone = reply ?? row["claimed_phone"]
        phoneVerified = reply != nil
        email = row["claimed_email"] ?? row["customer_email"]
        description = row["description"]
        equipment = row["equipment"]
        assetTag = row["asset_tag"]
        location = row["location"]
        subject = row["subject"]
        initialMessage = row["initial_message"]
        assignedAgentID = row["assigned_agent_id"]
        lastMessage = row["last_message"]
        unread = row["unread"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
        lastMessageAt = row["last_message_at"]
        firstResponseAt = row["first_response_at"]
        resolvedAt = row["resolved_at"]
        closedAt = row["closed_at"]
        labels = Labels.decode(row["labels_json"])
        outOfHours = row["out_of_hours"] ?? false
    }

    var roomStatus: RoomStatus { RoomStatus(ticket: status, assigned: assignedAgentID != nil) }
}

/// Tickets: creation and state changes (inside a caller's transaction) and the list/detail reads.
struct Tickets: Sendable {
    let reader: SQLDatabase

    // MARK: Writing

    struct Draft: Sendable {
        var customerID: Int64
        var channel: Channel
        var language: String
        var replyAddress: String?
        var replyChannel: String?
        var description: String?
        var subject: String?
        var initialMessage: String?
        var claimedEmail: String?
        var claimedPhone: String?
        var guestTokenHash: String?
    }

    /// Opens a ticket; returns its facts.
    static func create(_ draft: Draft, db: Database) throws -> TicketFacts {
        let now = Date()
        try db.cachedStatement(
            sql: """
                INSERT INTO tickets (uuid, customer_id, channel, status, language, reply_address, reply_channel,
                                     description, subject, initial_message, claimed_email, claimed_phone,
                                     guest_token_hash, created_at, updated_at)
                VALUES (?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            UUID().uuidString.lowercased(), draft.customerID, draft.channel, draft.language, draft.replyAddress,
            draft.replyChannel, draft.description, draft.subject, draft.initialMessage, draft.claimedEmail,
            draft.claimedPhone,
            draft.guestTokenHash, now, now,
        ])
        return try TicketFacts.fetch(id: db.lastInsertedRowID, db: db)!
    }

    /// The customer's WhatsApp ticket that is not closed yet, if any.
    static func openWhatsApp(customerID: Int64, db: Database) throws -> TicketFacts? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    \(TicketFacts.select) WHERE t.customer_id = ? AND t.channel = 'whatsapp' AND t.status != 'closed'
                    ORDER BY t.id DESC LIMIT 1
                    """),
            arguments: [customerID]
        ).map(TicketFacts.init(row:))
    }

    static func setStatus(_ status: TicketStatus, ticketID: Int64, db: Database) throws {
        let now = Date()
        let column: String? =
            switch status {
            case .resolved: "resolved_at"
            case .closed: "closed_at"
            case .new, .open, .waiting: nil
            }
        try db.execute(
            sql: """
                UPDATE tickets SET status = ?, updated_at = ?\(column.map { ", \($0) = ?" } ?? "")
                    \(status == .open ? ", resolved_at = NULL" : "")
                WHERE id = ?
                """,
            arguments: column == nil ? [status, now, ticketID] : [status, now, now, ticketID])
    }

    static func assign(ticketID: Int64, to agentID: Int64, db: Database) throws {
        let now = Date()
        try db.execute(
            sql: """
                UPDATE tickets SET assigned_agent_id = ?, assigned_at = ?, updated_at = ?,
                    status = CASE WHEN status = 'new' THEN 'open' ELSE status END
                WHERE id = ?
                """,
            arguments: [agentID, now, now, ticketID])
    }

    /// A technician wrote to the customer: the first response time, the ticket now waits on the customer (`new` or
    /// `open` → `waiting`; the customer's next message opens it again), and the intake assistant steps aside.
    static func recordHumanReply(ticketID: Int64, db: Database) throws {
        let now = Date()
        try db.cachedStatement(
            sql: """
                UPDATE tickets SET first_response_at = COALESCE(first_response_at, ?),
                    status = CASE WHEN status IN ('new', 'open') THEN 'waiting' ELSE status END,
                    intake_state = CASE WHEN intake_state IS NOT NULL
                        THEN json_set(intake_state, '$.step', 'done') ELSE intake_state END
                WHERE id = ?
                """
        ).execute(arguments: [now, ticketID])
    }

    /// The verified address the customer just wrote from, and the channel it came through, become where replies
    /// go (`channel` nil: the seed bridge).
    static func pinReplyAddress(_ address: String, channel: String?, ticketID: Int64, db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE tickets SET reply_address = ?1, reply_channel = ?2
                WHERE id = ?3 AND (reply_address IS DISTINCT FROM ?1 OR reply_channel IS DISTINCT FROM ?2)
                """
        ).execute(arguments: [address, channel, ticketID])
    }

    // MARK: Reading

    static let summaryColumns = """
        t.*, c.name AS customer_name, c.email AS customer_email,
        (SELECT content FROM messages m WHERE m.ticket_id = t.id AND NOT m.private ORDER BY m.id DESC LIMIT 1)
            AS last_message,
        (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = t.id AND m.role = 'user' AND m.read_at IS NULL) AS unread,
        \(Labels.summaryColumn)
        """
    static let from = "FROM tickets t JOIN customers c ON c.id = t.customer_id"

    /// The conditions on category and label that lists and exports share.
    static func filter(
        category: String?, label: String?, into conditions: inout [String], _ arguments: inout StatementArguments
    ) {
        if let category {
            conditions.append("t.category = ?")
            arguments += [category]
        }
        if let label {
            conditions.append(
                """
                EXISTS (SELECT 1 FROM ticket_labels tl JOIN labels l ON l.id = tl.label_id
                        WHERE tl.ticket_id = t.id AND l.name = ? COLLATE NOCASE)
                """)
            arguments += [label]
        }
    }

    /// Filters of `GET /tickets` and `filtered_chats`.
    struct Filter: Sendable {
        var statuses: [TicketStatus] = []
        var room: RoomStatus?
        var category: String?
        /// Only tickets carrying the label of this name (case-insensitive).
        var label: String?
        var search: String?
        var page = 1
        var pageSize = 20
        /// `GET /tickets` orders by number, chat lists by latest activity.
        var byActivity = false
    }

    /// A page of the tickets `viewer` may read, with the total for pagination.
    func list(_ filter: Filter, visibleTo viewer: Agent) async throws -> (tickets: [TicketSummary], total: Int) {
        try await reader.read { db in
            let visibility = TicketAccess.visibility(for: viewer)
            var conditions = [visibility.sql]
            var arguments = visibility.arguments
            if !filter.statuses.isEmpty {
                conditions.append("t.status IN (\(filter.statuses.map { _ in "?" }.joined(separator: ",")))")
                arguments += StatementArguments(filter.statuses)
            }
            switch filter.room {
            case .waiting: conditions.append("t.assigned_agent_id IS NULL AND t.status NOT IN ('resolved', 'closed')")
            case .active:
                conditions.append("t.assigned_agent_id IS NOT NULL AND t.status NOT IN ('resolved', 'closed')")
            case .resolved: conditions.append("t.status = 'resolved'")
            case .closed: conditions.append("t.status = 'closed'")
            case nil: break
            }
            Tickets.filter(category: filter.category, label: filter.label, into: &conditions, &arguments)
            if let search = filter.search, !search.isEmpty {
                let number = Int64(search.trimmingCharacters(in: CharacterSet(charactersIn: "# ")))
                let pattern =
                    "%" + search.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
                    + "%"
                let digits = search.filter(\.isNumber)
                conditions.append(
                    """
                    (t.id = ? OR c.name LIKE ? ESCAPE '\\' OR t.description LIKE ? ESCAPE '\\'
                     OR t.equipment LIKE ? ESCAPE '\\' OR t.reply_address LIKE ? ESCAPE '\\'
                     OR t.claimed_phone LIKE ? ESCAPE '\\')
                    """)
                let phonePattern = digits.isEmpty ? pattern : "%\(digits)%"
                arguments += [number ?? -1, pattern, pattern, pattern, phonePattern, phonePattern]
            }
            let whereClause = "WHERE " + conditions.joined(separator: " AND ")
            let total =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) \(Self.from) \(whereClause)", arguments: arguments) ?? 0
            let order =
                filter.byActivity ? "COALESCE(t.last_message_at, t.created_at) DESC, t.id DESC" : "t.id DESC"
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.summaryColumns) \(Self.from) \(whereClause) ORDER BY \(order) LIMIT ? OFFSET ?
                    """,
                arguments: arguments + [filter.pageSize, (filter.page - 1) * filter.pageSize])
            return (rows.map(TicketSummary.init(row:)), total)
        }
    }

    func summary(id: Int64) async throws -> TicketSummary? {
        try await reader.read { db in try Self.summary(id: id, db: db) }
    }

    static func summary(id: Int64, db: Database) throws -> TicketSummary? {
        try Row.fetchOne(db, sql: "SELECT \(summaryColumns) \(from) WHERE t.id = ?", arguments: [id])
            .map(TicketSummary.init(row:))
    }

    func facts(key: String) async throws -> TicketFacts? {
        try await reader.read { db in try TicketFacts.fetch(key: key, db: db) }
    }

    func facts(id: Int64) async throws -> TicketFacts? {
        try await reader.read { db in try TicketFacts.fetch(id: id, db: db) }
    }

    /// The ticket a room token opens.
    func ticketID(roomTokenDigest digest: String) async throws -> Int64? {
        try await reader.read { db in
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM tickets WHERE guest_token_hash = ?"), arguments: [digest])
        }
    }
}
