import Foundation
import GRDB

extension ChatStore {
    /// A message with everything a live frame shows.
    struct LiveMessage: Sendable {
        let id: Int64
        let role: String
        let content: String
        let type: String
        let createdAt: Date
        let readAt: Date?
        let clientID: String?
        let agentID: Int64?
        let agentName: String?
        let customerName: String?
        let deliveryStatus: String?
        let deliveryError: String?
        let deliveryAttempt: Int
        let attachmentID: Int64?
        let attachmentType: String?

        init(row: Row) {
            id = row["id"]
            role = row["role"]
            content = row["content"]
            type = row["type"]
            createdAt = row["created_at"]
            readAt = row["read_at"]
            clientID = row["client_id"]
            agentID = row["agent_id"]
            let first = row["first_name"] as String? ?? ""
            let last = row["last_name"] as String? ?? ""
            let full = "\(first) \(last)".trimmingCharacters(in: .whitespaces)
            agentName = full.isEmpty ? row["username"] as String? : full
            customerName = row["customer_name"]
            deliveryStatus = row["delivery_status"]
            deliveryError = row["delivery_error"]
            deliveryAttempt = row["delivery_attempt"]
            attachmentID = row["attachment_id"]
            attachmentType = row["attachment_mime"]
        }
    }

    static let liveSelect = """
        SELECT m.*, a.first_name, a.last_name, a.username, c.name AS customer_name, att.id AS attachment_id,
               att.mime AS attachment_mime
        FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN customers c ON c.id = t.customer_id
        LEFT JOIN agents a ON a.id = m.agent_id LEFT JOIN attachments att ON att.message_id = m.id
        """

    /// Messages after `after`, oldest first, without touching read marks.
    func newMessages(ticketID: Int64, after: Int64, limit: Int = 500) async throws -> [LiveMessage] {
        try await reader.read { db in
            try Row.fetchAll(
                db, sql: "\(Self.liveSelect) WHERE m.ticket_id = ? AND m.id > ? ORDER BY m.id LIMIT ?",
                arguments: [ticketID, after, limit]
            ).map(LiveMessage.init(row:))
        }
    }

    /// The newest `count` messages, oldest first.
    func recentMessages(ticketID: Int64, count: Int) async throws -> [LiveMessage] {
        try await reader.read { db in
            try Row.fetchAll(
                db, sql: "\(Self.liveSelect) WHERE m.ticket_id = ? ORDER BY m.id DESC LIMIT ?",
                arguments: [ticketID, count]
            ).map(LiveMessage.init(row:)).reversed()
        }
    }

    /// A page of the history, oldest first within the page; page 1 is the newest.
    func historyPage(ticketID: Int64, page: Int, size: Int) async throws -> (messages: [LiveMessage], total: Int) {
        try await reader.read { db in
            let total =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE ticket_id = ?", arguments: [ticketID])
                ?? 0
            let rows = try Row.fetchAll(
                db, sql: "\(Self.liveSelect) WHERE m.ticket_id = ? ORDER BY m.id DESC LIMIT ? OFFSET ?",
                arguments: [ticketID, size, (page - 1) * size]
            ).map(LiveMessage.init(row:))
            return (rows.reversed(), total)
        }
    }

    func message(id: Int64, ticketID: Int64) async throws -> LiveMessage? {
        try await reader.read { db in
            try Row.fetchOne(
                db, sql: "\(Self.liveSelect) WHERE m.id = ? AND m.ticket_id = ?", arguments: [id, ticketID]
            )
            .map(LiveMessage.init(row:))
        }
    }

    /// A guest's message by client id, when it was already stored (a resent `client_id` is not stored twice).
    func customerMessage(ticketID: Int64, clientID: String) async throws -> LiveMessage? {
        try await reader.read { db in
            try Row.fetchOne(
                db, sql: "\(Self.liveSelect) WHERE m.ticket_id = ? AND m.client_id = ?",
                arguments: [ticketID, clientID]
            ).map(LiveMessage.init(row:))
        }
    }

    /// Counts and response times for `stats/`.
    func stats(ticketID: Int64) async throws -> JSONValue {
        try await reader.read { db in
            let counts = try Row.fetchAll(
                db, sql: "SELECT role, COUNT(*) AS n FROM messages WHERE ticket_id = ? GROUP BY role",
                arguments: [ticketID])
            var byRole: [String: JSONValue] = [:]
            var total: Int64 = 0
            for row in counts {
                byRole[row["role"]] = .int(row["n"])
                total += row["n"] as Int64
            }
            // Each customer message answered by the next technician message: the time in between.
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT role, created_at FROM messages WHERE ticket_id = ? AND role IN ('user', 'tecnico') ORDER BY id",
                arguments: [ticketID])
            var waitingSince: Date?
            var responses: [TimeInterval] = []
            for row in rows {
                let role: String = row["role"]
                let at: Date = row["created_at"]
                if role == "user" {
                    if waitingSince == nil { waitingSince = at }
                } else if let since = waitingSince {
                    responses.append(at.timeIntervalSince(since))
                    waitingSince = nil
                }
            }
            let average = responses.isEmpty ? nil : responses.reduce(0, +) / Double(responses.count)
            return [
                "total_mensajes": .int(total),
                "por_rol": .object(byRole),
                "primera_respuesta_segundos": responses.first.map { .double($0) } ?? .null,
                "tiempo_respuesta_promedio_segundos": average.map { .double($0) } ?? .null,
                "respuestas": .int(Int64(responses.count)),
            ]
        }
    }
}

extension ChatStore {
    /// A ticket by number or room UUID.
    func resolveTicket(_ key: String) async throws -> (id: Int64, uuid: String)? {
        try await reader.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, uuid FROM tickets WHERE CAST(id AS TEXT) = ? OR uuid = ?",
                arguments: [key, key.lowercased()]
            ).map { ($0["id"], $0["uuid"]) }
        }
    }
}
