import Foundation
import MostradorContracts
import MostradorSQL
import MostradorStorage

/// Notifications for agents (`/api/notifications/`) and for web customers (`/api/user-notifications/`).
struct NotificationStore: Sendable {
    let committer: SQLCommitter
    var reader: SQLDatabase { committer.writer }

    struct Item: Sendable {
        let id: Int64
        let uuid: String
        let kind: String
        let title: String
        let message: String
        let ticketID: Int64?
        let roomUUID: String?
        let isRead: Bool
        let readAt: Date?
        let createdAt: Date

        init(row: Row) {
            id = row["id"]
            uuid = row["uuid"]
            kind = row["kind"]
            title = row["title"]
            message = row["message"]
            ticketID = row["ticket_id"]
            roomUUID = row["room"]
            isRead = row["is_read"]
            readAt = row["read_at"]
            createdAt = row["created_at"]
        }
    }

    /// Stores a `notification.created` once (by AMQP message id), one row per recipient of its audience.
    /// Returns how many rows it stored (0 when it had been stored before).
    func store(_ notification: NotificationCreated, amqpMessageID: String, consumer: String) async throws -> Int {
        try await committer.write { db in
            guard try ProcessedMessages.claim(amqpMessageID, consumer: consumer, db: db) else { return 0 }
            guard
                let ticket = try Row.fetchOne(
                    db, sql: "SELECT assigned_agent_id, channel FROM tickets WHERE id = ?",
                    arguments: [notification.ticketID])
            else { return 0 }
            var agents: [Int64] = []
            var toCustomer = false
            switch notification.audience {
            case .availableAgents:
                agents = try Int64.fetchAll(db, sql: "SELECT id FROM agents WHERE is_active AND is_available")
            case .assignedAgent:
                agents = (ticket["assigned_agent_id"] as Int64?).map { [$0] } ?? []
            case .agent(let id):
                agents = [id]
            case .ticketAgents:
                agents = (ticket["assigned_agent_id"] as Int64?).map { [$0] } ?? []
                agents += try Int64.fetchAll(
                    db, sql: "SELECT agent_id FROM ticket_participants WHERE ticket_id = ? ORDER BY agent_id",
                    arguments: [notification.ticketID])
            case .customer:
                toCustomer = ticket["channel"] as String == Channel.web.rawValue
            }
            agents.removeAll { $0 == notification.excludeAgentID }
            let now = Date()
            for (index, agent) in agents.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO notifications (uuid, recipient, agent_id, ticket_id, kind, title, message, created_at)
                        VALUES (?, 'agent', ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        DerivedID.make(from: UUID(uuidString: amqpMessageID) ?? UUID(), "agent-\(agent)-\(index)")
                            .uuidString.lowercased(),
                        agent, notification.ticketID, notification.kind, notification.title, notification.message, now,
                    ])
            }
            if toCustomer {
                try db.execute(
                    sql: """
                        INSERT INTO notifications (uuid, recipient, ticket_id, kind, title, message, created_at)
                        VALUES (?, 'customer', ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        UUID().uuidString.lowercased(), notification.ticketID, notification.kind, notification.title,
                        notification.message, now,
                    ])
            }
            return agents.count + (toCustomer ? 1 : 0)
        }
    }

    static let columns = "n.*, t.uuid AS room"

    func forAgent(_ agentID: Int64, limit: Int = 100) async throws -> (items: [Item], unread: Int, total: Int) {
        try await reader.read { db in
            let items = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.columns) FROM notifications n LEFT JOIN tickets t ON t.id = n.ticket_id
                    WHERE n.recipient = 'agent' AND n.agent_id = ? ORDER BY n.id DESC LIMIT ?
                    """, arguments: [agentID, limit]
            ).map(Item.init(row:))
            let unread =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*) FROM notifications WHERE recipient = 'agent' AND agent_id = ? AND NOT is_read",
                    arguments: [agentID]) ?? 0
            let total =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM notifications WHERE recipient = 'agent' AND agent_id = ?",
                    arguments: [agentID]) ?? 0
            return (items, unread, total)
        }
    }

    func forCustomer(ticketID: Int64) async throws -> (items: [Item], unread: Int, total: Int) {
        try await reader.read { db in
            let items = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.columns) FROM notifications n LEFT JOIN tickets t ON t.id = n.ticket_id
                    WHERE n.recipient = 'customer' AND n.ticket_id = ? ORDER BY n.id DESC LIMIT 200
                    """, arguments: [ticketID]
            ).map(Item.init(row:))
            return (items, items.filter { !$0.isRead }.count, items.count)
        }
    }

    /// Marks an agent's notifications (all, or those with these ids/uuids) read; returns how many changed.
    func markReadForAgent(_ agentID: Int64, ids: [String]?) async throws -> Int {
        try await markRead(scope: "recipient = 'agent' AND agent_id = ?", scopeArguments: [agentID], ids: ids)
    }

    func markReadForCustomer(ticketID: Int64, ids: [String]?) async throws -> Int {
        try await markRead(scope: "recipient = 'customer' AND ticket_id = ?", scopeArguments: [ticketID], ids: ids)
    }

    /// Deletes notifications read and created before `cutoff` (retention); unread ones stay. Returns how many.
    static func deleteRead(olderThan cutoff: Date, db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM notifications WHERE is_read AND created_at < ?", arguments: [cutoff])
        return db.changesCount
    }

    /// Ids per statement: each is bound twice, far below SQLite's variable limit whatever the caller sends.
    static let idsPerStatement = 400

    private func markRead(scope: String, scopeArguments: StatementArguments, ids: [String]?) async throws -> Int {
        let update = "UPDATE notifications SET is_read = TRUE, read_at = ? WHERE NOT is_read AND \(scope)"
        guard let ids else {
            return try await committer.write { db in
                try db.execute(sql: update, arguments: [Date()] + scopeArguments)
                return db.changesCount
            }
        }
        var seen = Set<String>()
        let unique = ids.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { return 0 }
        return try await committer.write { db in
            let now = Date()
            var changed = 0
            for start in stride(from: 0, to: unique.count, by: Self.idsPerStatement) {
                let chunk = Array(unique[start..<min(start + Self.idsPerStatement, unique.count)])
                let marks = chunk.map { _ in "?" }.joined(separator: ",")
                try db.execute(
                    sql: update + " AND (CAST(id AS TEXT) IN (\(marks)) OR uuid IN (\(marks)))",
                    arguments: [now] + scopeArguments + StatementArguments(chunk) + StatementArguments(chunk))
                changed += db.changesCount
            }
            return changed
        }
    }
}
