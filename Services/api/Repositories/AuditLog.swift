import Foundation
import MostradorSQL
import MostradorStorage

/// Who did what and when: logins, assignment, transfers, resolving and closing, agent administration, settings
/// (labels, templates, ready-made messages) and merges of customers. Admins read it (`GET /api/audit`).
/// Changes to tickets and customers are recorded in the transaction that makes them; the rest right after.
struct AuditEntry: Sendable, Equatable {
    /// `auth.login`, `auth.login_failed`, `auth.login_blocked`, `auth.logout`, `ticket.take`, `ticket.assign`,
    /// `ticket.transfer`, `ticket.resolve`, `ticket.close`, `agent.create`, `agent.update`, `agent.deactivate`,
    /// `label.create`, `label.update`, `label.delete`, `template.create`, `template.update`, `template.delete`,
    /// `message_template.create`, `message_template.update`, `message_template.delete`, `webhook.create`,
    /// `webhook.update`, `webhook.delete`, `customer.merge`.
    var action: String
    var actorID: Int64?
    /// The agent's username (or, for a failed login, the username that was tried); nil for the system.
    var actorName: String?
    var targetType: String?
    var targetID: String?
    var ticketID: Int64?
    /// What changed, in short (never a password or a token).
    var details: [String: String] = [:]
    var address: String?

    init(
        _ action: String, by actor: Agent?, target: (type: String, id: String)? = nil, ticketID: Int64? = nil,
        details: [String: String] = [:], address: String? = nil
    ) {
        self.action = action
        actorID = actor?.id
        actorName = actor?.username
        targetType = target?.type
        targetID = target?.id
        self.ticketID = ticketID
        self.details = details
        self.address = address
    }
}

enum AuditLog {
    /// Records `entry` inside the caller's transaction.
    static func add(_ entry: AuditEntry, db: Database) throws {
        let details =
            entry.details.isEmpty
            ? nil
            : String(
                decoding: try JSONSerialization.data(withJSONObject: entry.details, options: [.sortedKeys]),
                as: UTF8.self)
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_log (at, action, actor_agent_id, actor_name, target_type, target_id, ticket_id,
                                       details, address)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            Date(), entry.action, entry.actorID, entry.actorName.map { String($0.prefix(64)) }, entry.targetType,
            entry.targetID, entry.ticketID, details, entry.address,
        ])
    }
}

/// Reading and recording the audit log outside other transactions.
struct AuditStore: Sendable {
    let committer: SQLCommitter
    var reader: SQLDatabase { committer.writer }

    func record(_ entry: AuditEntry) async throws {
        try await committer.write { db in try AuditLog.add(entry, db: db) }
    }

    struct Filter: Sendable {
        /// An agent's username (or the username a failed login tried).
        var actor: String?
        /// An action, or a family of them (`ticket` matches `ticket.take`, `ticket.close`…).
        var action: String?
        var ticketID: Int64?
        var since: Date?
        var until: Date?
        var page = 1
        var pageSize = 50
    }

    struct Row: Sendable {
        let id: Int64
        let at: Date
        let entry: AuditEntry
    }

    /// Newest first.
    func list(_ filter: Filter) async throws -> (rows: [Row], total: Int) {
        try await reader.read { db in
            var conditions: [String] = []
            var arguments = StatementArguments()
            if let actor = filter.actor {
                conditions.append("actor_name = ? COLLATE NOCASE")
                arguments += [actor]
            }
            if let action = filter.action {
                conditions.append("(action = ? OR action LIKE ? ESCAPE '\\')")
                let escaped = action.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(
                    of: "_", with: "\\_")
                arguments += [action, escaped + ".%"]
            }
            if let ticket = filter.ticketID {
                conditions.append("ticket_id = ?")
                arguments += [ticket]
            }
            if let since = filter.since {
                conditions.append("at >= ?")
                arguments += [since]
            }
            if let until = filter.until {
                conditions.append("at < ?")
                arguments += [until]
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log \(whereClause)", arguments: arguments)
            let rows = try MostradorSQL.Row.fetchAll(
                db, sql: "SELECT * FROM audit_log \(whereClause) ORDER BY id DESC LIMIT ? OFFSET ?",
                arguments: arguments + [filter.pageSize, (filter.page - 1) * filter.pageSize])
            return (
                rows.map { row in
                    var entry = AuditEntry(
                        row["action"], by: nil,
                        target: (row["target_type"] as String?).map { ($0, row["target_id"] as String? ?? "") },
                        ticketID: row["ticket_id"], address: row["address"])
                    entry.actorID = row["actor_agent_id"]
                    entry.actorName = row["actor_name"]
                    if let json = row["details"] as String?,
                        let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
                    {
                        entry.details = object
                    }
                    return Row(id: row["id"], at: row["at"], entry: entry)
                }, total ?? 0
            )
        }
    }
}
