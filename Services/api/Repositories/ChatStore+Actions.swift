import Foundation
import GRDB
import MostradorContracts

extension ChatStore {
    /// How an agent comes to a chat.
    enum Assignment: Sendable {
        /// An agent takes an unassigned chat.
        case take
        /// An admin gives it to an agent.
        case assign
        /// The assigned agent (or an admin) hands it to another agent.
        case transfer
    }

    /// The ticket's row as the actions need it.
    struct TicketFacts: Sendable {
        let id: Int64
        let status: String
        let channel: String
        let assignedAgentID: Int64?
        let language: String
        let customerName: String?
        let recipient: String?

        init(id: Int64, db: Database) throws {
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT t.status, t.channel, t.assigned_agent_id, t.language, c.name,
                            (SELECT address FROM customer_identities ci WHERE ci.customer_id = t.customer_id
                             AND ci.kind IN ('phone', 'lid') ORDER BY ci.last_seen_at DESC LIMIT 1) AS address
                        FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = ?
                        """, arguments: [id])
            else { throw Problem.notFound }
            self.id = id
            status = row["status"]
            channel = row["channel"]
            assignedAgentID = row["assigned_agent_id"]
            language = row["language"]
            customerName = row["name"]
            recipient = row["channel"] as String == "whatsapp" ? row["address"] : nil
        }

        var channelValue: Channel { Channel(rawValue: channel) ?? .whatsapp }
    }

    /// Whether `agent` may act on (write in, resolve, close) this ticket: admins always, agents on their own chats
    /// and on unassigned ones.
    static func mayAct(_ agent: Agent, on ticket: TicketFacts) -> Bool {
        agent.role == .admin || ticket.assignedAgentID == nil || ticket.assignedAgentID == agent.id
    }

    static let forbiddenMessage = "No tienes permisos para enviar mensajes en este chat"

    /// Before an agent writes in a chat: refuses one assigned to someone else (admins excepted) and, with `take`,
    /// makes an unassigned open chat theirs.
    func claimForWriting(ticketID: Int64, by agent: Agent, take: Bool = true) async throws {
        let ticket = try await reader.read { db in try TicketFacts(id: ticketID, db: db) }
        guard Self.mayAct(agent, on: ticket) else { throw Problem.forbidden(Self.forbiddenMessage) }
        if take, ticket.assignedAgentID == nil, ticket.status != "closed" {
            _ = try await assign(ticketID: ticketID, to: agent, by: agent, as: .take)
        }
    }

    /// Gives the chat to `target`, with system notes and events. Returns the room afterwards.
    func assign(ticketID: Int64, to target: Agent, by actor: Agent, as assignment: Assignment) async throws -> Room {
        let (room, previousAgent) = try await committer.write { db -> (Room, Agent?) in
            let ticket = try TicketFacts(id: ticketID, db: db)
            guard ticket.status != "closed" else { throw Problem.closed }
            guard target.isActive else { throw Problem.invalid("El agente está desactivado") }
            switch assignment {
            case .take:
                if let current = ticket.assignedAgentID, current != actor.id {
                    throw Problem.conflict("El chat ya está asignado a otro agente")
                }
            case .assign:
                guard actor.role == .admin else { throw Problem.forbidden("Solo un administrador puede asignar chats") }
            case .transfer:
                guard actor.role == .admin || ticket.assignedAgentID == actor.id else {
                    throw Problem.forbidden("Solo el agente asignado o un administrador puede transferir el chat")
                }
                guard ticket.assignedAgentID != target.id else {
                    throw Problem.invalid("El chat ya está asignado a ese agente")
                }
            }
            if ticket.assignedAgentID == target.id {
                return (try Self.room(ticketID: ticketID, db: db), nil)
            }
            let now = Date()
            try db.execute(
                sql: """
                    UPDATE tickets SET assigned_agent_id = ?, assigned_at = ?, updated_at = ?,
                        status = CASE WHEN status = 'new' THEN 'open' ELSE status END
                    WHERE id = ?
                    """,
                arguments: [target.id, now, now, ticketID])
            let previous = try ticket.assignedAgentID.flatMap {
                try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [$0]).map(Agent.init(row:))
            }
            if let previous {
                try Self.note("👋 \(previous.displayName) dejó el chat", ticketID: ticketID, db: db)
                try Self.note(
                    "↪️ Chat transferido de \(previous.displayName) a \(target.displayName)", ticketID: ticketID, db: db)
                try Outbox.add(
                    ChatTransferred(
                        ticketID: ticketID, fromAgentID: previous.id, toAgentID: target.id,
                        toAgentName: target.displayName, byAgentID: actor.id, customerName: ticket.customerName),
                    in: db)
            }
            try Self.note("👨‍💻 \(target.displayName) se unió al chat", ticketID: ticketID, db: db)
            try Outbox.add(
                TicketAssigned(
                    ticketID: ticketID, agentID: target.id, agentName: target.displayName,
                    previousAgentID: previous?.id, byAgentID: actor.id, channel: ticket.channelValue,
                    recipient: ticket.recipient, language: ticket.language, customerName: ticket.customerName),
                in: db)
            return (try Self.room(ticketID: ticketID, db: db), previous)
        }
        outboxWakeup.signal()
        if let previous = previousAgent {
            live?.send(
                LiveEvent(
                    ticketID: ticketID, kind: .agentLeft, userID: "agente-\(previous.id)",
                    userName: previous.displayName, userKind: "AGENTE"))
            live?.send(
                LiveEvent(
                    ticketID: ticketID, kind: .chatTransferred, userID: "agente-\(target.id)",
                    userName: target.displayName, userKind: "AGENTE"))
        }
        live?.send(
            LiveEvent(
                ticketID: ticketID, kind: .agentJoined, userID: "agente-\(target.id)", userName: target.displayName,
                userKind: "AGENTE"))
        return room
    }

    /// Resolves or closes a chat (closing is final; resolving again or a closed chat is refused).
    func setStatus(ticketID: Int64, to status: String, by actor: Agent) async throws -> Room {
        let room = try await committer.write { db -> Room in
            let ticket = try TicketFacts(id: ticketID, db: db)
            guard Self.mayAct(actor, on: ticket) else { throw Problem.forbidden(Self.forbiddenMessage) }
            guard ticket.status != "closed" else {
                if status == "closed" { return try Self.room(ticketID: ticketID, db: db) }
                throw Problem.closed
            }
            if ticket.status == status { return try Self.room(ticketID: ticketID, db: db) }
            let now = Date()
            let column = status == "resolved" ? "resolved_at" : "closed_at"
            try db.execute(
                sql: "UPDATE tickets SET status = ?, \(column) = ?, updated_at = ? WHERE id = ?",
                arguments: [status, now, now, ticketID])
            try Self.note(
                status == "resolved"
                    ? "✅ Chat resuelto por \(actor.displayName)" : "🔒 Chat cerrado por \(actor.displayName)",
                ticketID: ticketID, db: db)
            try Outbox.add(
                TicketStatusChanged(
                    ticketID: ticketID, from: ticket.status, to: status, at: now, channel: ticket.channelValue,
                    recipient: ticket.recipient, language: ticket.language, customerName: ticket.customerName,
                    assignedAgentID: ticket.assignedAgentID),
                in: db)
            return try Self.room(ticketID: ticketID, db: db)
        }
        outboxWakeup.signal()
        live?.changed(ticketID)
        return room
    }

    static func room(ticketID: Int64, db: Database) throws -> Room {
        guard let uuid = try String.fetchOne(db, sql: "SELECT uuid FROM tickets WHERE id = ?", arguments: [ticketID]),
            let room = try room(uuid: uuid, db: db)
        else { throw Problem.notFound }
        return room
    }

    /// A system note in the conversation (agent joined, transferred, resolved…).
    static func note(_ text: String, ticketID: Int64, db: Database) throws {
        try db.execute(
            sql: "INSERT INTO messages (ticket_id, role, content, type, created_at) VALUES (?, 'system', ?, 'text', ?)",
            arguments: [ticketID, text, Date()])
    }

    /// The ticket behind a room, checking that `caller` may see it (agents: own or unassigned, admins: all,
    /// guests: their own room only).
    func ticketID(forRoom uuid: String, caller: Caller?, toAct: Bool = false) async throws -> Int64 {
        guard let caller else { throw Problem.forbidden("") }
        let facts: (id: Int64, assigned: Int64?)? = try await reader.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, assigned_agent_id FROM tickets WHERE uuid = ?", arguments: [uuid.lowercased()]
            ).map { ($0["id"], $0["assigned_agent_id"]) }
        }
        switch caller {
        case .guest(let ticket):
            guard let facts, facts.id == ticket else { throw Problem.notFound }
            return ticket
        case .agent(let agent):
            guard let facts else { throw Problem.notFound }
            guard agent.role == .admin || facts.assigned == nil || facts.assigned == agent.id else {
                throw Problem.forbidden(Self.forbiddenMessage)
            }
            return facts.id
        }
    }
}
