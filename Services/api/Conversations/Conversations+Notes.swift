import Foundation
import MostradorSQL

/// Private notes: technicians write them on a ticket for each other. A note is a message of the timeline that only
/// agents read (`Messages.Audience`): it never gets a delivery status, a `message.created` event or a relay
/// command, so nothing that reaches a customer (relay, guest REST and WebSocket, notifier) ever carries it.
extension Conversations {
    /// A stored note and the agents its @mentions notified.
    struct NoteWritten: Sendable {
        let messageID: Int64
        let mentioned: [String]
    }

    /// Stores `text` as a private note of `agent` on the ticket. `@username` mentions of active agents who may read
    /// the ticket notify them (kind `mencion`); others (unknown, inactive, without access, oneself) are ignored.
    func addNote(_ text: String, by agent: Agent, in ticketID: Int64) async throws -> NoteWritten {
        let content: String
        do {
            content = try TextRules.message(text)
        } catch {
            throw ConversationProblem.invalid(error.messageError().detail)
        }
        let usernames = Self.mentions(in: content)
        let written = try await committer.write { db -> NoteWritten in
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { throw ConversationProblem.notFound }
            try TicketAccess.check(.note, caller: .agent(agent), ticket: ticket)
            let now = Date()
            try db.execute(
                sql: """
                    INSERT INTO messages (ticket_id, role, content, type, agent_id, created_at, private)
                    VALUES (?, 'tecnico', ?, 'text', ?, ?, TRUE)
                    """,
                arguments: [ticket.id, content, agent.id, now])
            let id = db.lastInsertedRowID
            try db.execute(sql: "UPDATE tickets SET updated_at = ? WHERE id = ?", arguments: [now, ticket.id])
            var mentioned: [String] = []
            if !usernames.isEmpty {
                let candidates = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM agents WHERE is_active AND id != ?
                        AND lower(username) IN (\(usernames.map { _ in "?" }.joined(separator: ",")))
                        ORDER BY username
                        """,
                    arguments: [agent.id] + StatementArguments(usernames)
                ).map(Agent.init(row:))
                for colleague in candidates {
                    // A mention never shows the note to someone the ticket is closed to.
                    guard (try? TicketAccess.check(.read, caller: .agent(colleague), ticket: ticket)) != nil else {
                        continue
                    }
                    try db.execute(
                        sql: """
                            INSERT INTO notifications (uuid, recipient, agent_id, ticket_id, kind, title, message,
                                                       created_at)
                            VALUES (?, 'agent', ?, ?, 'mencion', ?, ?, ?)
                            """,
                        arguments: [
                            UUID().uuidString.lowercased(), colleague.id, ticket.id,
                            "\(agent.displayName) te mencionó en el ticket #\(ticket.id)",
                            String(content.prefix(200)), now,
                        ])
                    mentioned.append(colleague.username)
                }
            }
            return NoteWritten(messageID: id, mentioned: mentioned)
        }
        live.changed(ticketID)
        return written
    }

    /// The usernames `@mentioned` in `text`, lowercased, each once (at most 20).
    static func mentions(in text: String) -> [String] {
        var found: [String] = []
        var rest = Substring(text)
        while let at = rest.firstIndex(of: "@"), found.count < 20 {
            // An e-mail address (`ana@taller.mx`) is not a mention: the @ starts a word.
            let startsWord =
                at == rest.startIndex || rest[rest.index(before: at)].isWhitespace
                || "([{,;:¡¿".contains(rest[rest.index(before: at)])
            let name = rest[rest.index(after: at)...].prefix { $0.isLetter || $0.isNumber || "_.-".contains($0) }
            let trimmed = String(name).trimmingCharacters(in: CharacterSet(charactersIn: ".-")).lowercased()
            if startsWord, !trimmed.isEmpty, !found.contains(trimmed) { found.append(trimmed) }
            rest = rest[rest.index(after: at)...]
        }
        return found
    }
}
