import Foundation
import GRDB
import MostradorContracts

extension TicketStore {
    /// Filters of `GET /tickets`.
    struct Filter: Sendable {
        var statuses: [String] = []
        var category: String?
        var search: String?
        var page = 1
        var pageSize = 20
    }

    /// A ticket as lists and headers show it.
    struct Summary: Sendable {
        let id: Int64
        let uuid: String
        let status: String
        let channel: String
        let category: String
        let confidence: Double?
        let needsReview: Bool
        let customerID: Int64
        let customerName: String?
        let phone: String?
        let description: String?
        let equipment: String?
        let assignedAgentID: Int64?
        let lastMessage: String?
        let createdAt: Date
        let updatedAt: Date
        let lastMessageAt: Date?
        let firstResponseAt: Date?
        let resolvedAt: Date?
        let closedAt: Date?

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
            phone = (row["address"] as String?).flatMap { try? SenderAddress($0).display }
            description = row["description"]
            equipment = row["equipment"]
            assignedAgentID = row["assigned_agent_id"]
            lastMessage = row["last_message"]
            createdAt = row["created_at"]
            updatedAt = row["updated_at"]
            lastMessageAt = row["last_message_at"]
            firstResponseAt = row["first_response_at"]
            resolvedAt = row["resolved_at"]
            closedAt = row["closed_at"]
        }
    }

    /// One message of a conversation.
    struct ConversationMessage: Sendable {
        let id: Int64
        let role: String
        let content: String
        let type: String
        let deliveryStatus: String?
        let deliveryAttempt: Int
        let deliveryError: String?
        let createdAt: Date
        let attachmentID: Int64?
        let attachmentType: String?

        init(row: Row) {
            id = row["id"]
            role = row["role"]
            content = row["content"]
            type = row["type"]
            deliveryStatus = row["delivery_status"]
            deliveryAttempt = row["delivery_attempt"]
            deliveryError = row["delivery_error"]
            createdAt = row["created_at"]
            attachmentID = row["attachment_id"]
            attachmentType = row["attachment_mime"]
        }
    }

    static let summaryColumns = """
        t.*, c.name AS customer_name,
        (SELECT address FROM customer_identities ci WHERE ci.customer_id = t.customer_id
            AND ci.kind IN ('phone', 'lid') ORDER BY ci.last_seen_at DESC LIMIT 1) AS address,
        (SELECT content FROM messages m WHERE m.ticket_id = t.id ORDER BY m.id DESC LIMIT 1) AS last_message
        """

    /// Newest first, with the total count for pagination.
    func list(_ filter: Filter) async throws -> (tickets: [Summary], total: Int) {
        try await reader.read { db in
            var conditions: [String] = []
            var arguments = StatementArguments()
            if !filter.statuses.isEmpty {
                conditions.append("t.status IN (\(filter.statuses.map { _ in "?" }.joined(separator: ",")))")
                arguments += StatementArguments(filter.statuses)
            }
            if let category = filter.category {
                conditions.append("t.category = ?")
                arguments += [category]
            }
            if let search = filter.search, !search.isEmpty {
                let number = Int64(search.trimmingCharacters(in: CharacterSet(charactersIn: "# ")))
                let pattern =
                    "%"
                    + search.replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%"
                conditions.append(
                    """
                    (t.id = ? OR c.name LIKE ? ESCAPE '\\' OR t.description LIKE ? ESCAPE '\\'
                     OR t.equipment LIKE ? ESCAPE '\\'
                     OR EXISTS (SELECT 1 FROM customer_identities ci WHERE ci.customer_id = t.customer_id
                                AND ci.value LIKE ? ESCAPE '\\'))
                    """)
                let digits = search.filter(\.isNumber)
                arguments += [number ?? -1, pattern, pattern, pattern, digits.isEmpty ? pattern : "%\(digits)%"]
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let total =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM tickets t JOIN customers c ON c.id = t.customer_id \(whereClause)",
                    arguments: arguments) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.summaryColumns) FROM tickets t JOIN customers c ON c.id = t.customer_id
                    \(whereClause) ORDER BY t.id DESC LIMIT ? OFFSET ?
                    """,
                arguments: arguments + [filter.pageSize, (filter.page - 1) * filter.pageSize])
            return (rows.map(Summary.init(row:)), total)
        }
    }

    func summary(ticketID: Int64) async throws -> Summary? {
        try await reader.read { db in try Self.summary(ticketID: ticketID, db: db) }
    }

    static func summary(ticketID: Int64, db: Database) throws -> Summary? {
        try Row.fetchOne(
            db,
            sql: "SELECT \(summaryColumns) FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = ?",
            arguments: [ticketID]
        ).map(Summary.init(row:))
    }

    /// The ticket and its messages in order (only those after `afterMessageID` when given).
    func conversation(ticketID: Int64, afterMessageID: Int64 = 0) async throws
        -> (ticket: Summary, messages: [ConversationMessage])?
    {
        try await reader.read { db in
            guard let ticket = try Self.summary(ticketID: ticketID, db: db) else { return nil }
            let messages = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT m.id, m.role, m.content, m.type, m.delivery_status, m.delivery_attempt,
                               m.delivery_error, m.created_at, a.id AS attachment_id, a.mime AS attachment_mime
                        FROM messages m LEFT JOIN attachments a ON a.message_id = m.id
                        WHERE m.ticket_id = ? AND m.id > ? ORDER BY m.id
                        """),
                arguments: [ticketID, afterMessageID]
            ).map(ConversationMessage.init(row:))
            return (ticket, messages)
        }
    }

    func deliveryStatus(messageID: Int64) async throws -> (status: String?, error: String?)? {
        try await reader.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT delivery_status, delivery_error FROM messages WHERE id = ?"),
                arguments: [messageID]
            ).map { ($0["delivery_status"], $0["delivery_error"]) }
        }
    }
}

extension TicketStore {
    /// The language the customer writes in (`es` or `en`).
    func language(ticketID: Int64) async throws -> String {
        try await reader.read { db in
            try String.fetchOne(db, sql: "SELECT language FROM tickets WHERE id = ?", arguments: [ticketID]) ?? "es"
        }
    }
}
