import Foundation
import MostradorContracts
import MostradorSQL

extension Conversations {
    /// The people of a chat besides the customer: who owns it and who was invited.
    struct Participants: Sendable, Equatable {
        struct Member: Sendable, Equatable {
            let agent: Agent
            /// When they were invited or joined, and by whom (nil: the agent is gone).
            let addedAt: Date
            let addedBy: Int64?
        }

        let ticketID: Int64
        let owner: Agent?
        let members: [Member]
    }

    func participants(of ticketID: Int64) async throws -> Participants {
        try await messages.reader.read { db in try Self.participants(of: ticketID, db: db) }
    }

    static func participants(of ticketID: Int64, db: Database) throws -> Participants {
        let owner = try Int64.fetchOne(
            db, sql: "SELECT assigned_agent_id FROM tickets WHERE id = ?", arguments: [ticketID]
        ).flatMap { try Agent.fetch(id: $0, db: db) }
        let members = try Row.fetchAll(
            db,
            sql: """
                SELECT a.*, p.added_at AS participant_added_at, p.added_by AS participant_added_by
                FROM ticket_participants p JOIN agents a ON a.id = p.agent_id
                WHERE p.ticket_id = ? ORDER BY p.added_at, a.id
                """, arguments: [ticketID]
        ).map { row in
            Participants.Member(
                agent: Agent(row: row), addedAt: row["participant_added_at"], addedBy: row["participant_added_by"])
        }
        return Participants(ticketID: ticketID, owner: owner, members: members)
    }

    /// `actor` adds `target` to the chat: the owner or an admin invites another agent; an admin may join a chat
    /// themselves. The target reads and writes in it from then on; the owner stays the owner. Adding someone who is
    /// already in the chat changes nothing (`added` false).
    func addParticipant(_ target: Agent, to ticketID: Int64, by actor: Agent) async throws -> (
        participants: Participants, added: Bool
    ) {
        let (participants, added) = try await committer.write { db -> (Participants, Bool) in
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { throw ConversationProblem.notFound }
            // Joining a chat one is already in changes nothing, whoever asks.
            if actor.id == target.id, ticket.involves(actor.id) {
                return (try Self.participants(of: ticketID, db: db), false)
            }
            try TicketAccess.check(.invite, caller: .agent(actor), ticket: ticket)
            guard ticket.status != .closed else { throw ConversationProblem.closed }
            guard target.isActive else { throw ConversationProblem.invalid("El agente está desactivado") }
            guard !ticket.involves(target.id) else { return (try Self.participants(of: ticketID, db: db), false) }
            try db.execute(
                sql: "INSERT INTO ticket_participants (ticket_id, agent_id, added_by, added_at) VALUES (?, ?, ?, ?)",
                arguments: [ticketID, target.id, actor.id, Date()])
            let note =
                actor.id == target.id
                ? "\(target.displayName) se unió al chat"
                : "\(target.displayName) se unió al chat (invitado por \(actor.displayName))"
            _ = try Messages.insert(.note(note), on: ticket, db: db)
            try Outbox.add(
                ChatParticipantChanged(
                    ticketID: ticketID, agentID: target.id, agentName: target.displayName, joined: true,
                    byAgentID: actor.id, channel: ticket.channel, customerName: ticket.customerName),
                in: db)
            return (try Self.participants(of: ticketID, db: db), true)
        }
        if added {
            outboxWakeup.signal()
            live.changed(ticketID)
            live.send(.joined(target, ticketID: ticketID))
        }
        return (participants, added)
    }

    /// `target` leaves the chat (`actor` is `target`), or the owner or an admin removes them. The owner does not
    /// leave this way: a chat always has the owner it is assigned to, so they transfer it instead.
    func removeParticipant(_ target: Agent, from ticketID: Int64, by actor: Agent) async throws -> Participants {
        let (participants, removed) = try await committer.write { db -> (Participants, Bool) in
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { throw ConversationProblem.notFound }
            if actor.id == target.id {
                try TicketAccess.check(.read, caller: .agent(actor), ticket: ticket)
            } else {
                try TicketAccess.check(.invite, caller: .agent(actor), ticket: ticket)
            }
            if ticket.assignedAgentID == target.id {
                throw ConversationProblem.conflict(
                    "\(target.displayName) es el agente asignado: transfiere el chat en lugar de quitarlo")
            }
            guard ticket.participantIDs.contains(target.id) else {
                return (try Self.participants(of: ticketID, db: db), false)
            }
            try db.execute(
                sql: "DELETE FROM ticket_participants WHERE ticket_id = ? AND agent_id = ?",
                arguments: [ticketID, target.id])
            let note =
                actor.id == target.id
                ? "\(target.displayName) dejó el chat"
                : "\(actor.displayName) quitó a \(target.displayName) del chat"
            _ = try Messages.insert(.note(note), on: ticket, db: db)
            try Outbox.add(
                ChatParticipantChanged(
                    ticketID: ticketID, agentID: target.id, agentName: target.displayName, joined: false,
                    byAgentID: actor.id, channel: ticket.channel, customerName: ticket.customerName),
                in: db)
            return (try Self.participants(of: ticketID, db: db), true)
        }
        if removed {
            outboxWakeup.signal()
            live.changed(ticketID)
            // `agente_left` also makes every instance ask the removed agent's sockets whether they may stay.
            live.send(
                LiveEvent(
                    ticketID: ticketID, kind: .agentLeft, userID: target.liveID, userName: target.displayName,
                    userKind: "AGENTE"))
        }
        return participants
    }

    /// A chat given to one of its participants makes them its owner: they are no longer listed as a participant.
    static func promoteParticipant(_ agentID: Int64, in ticketID: Int64, db: Database) throws {
        try db.execute(
            sql: "DELETE FROM ticket_participants WHERE ticket_id = ? AND agent_id = ?", arguments: [ticketID, agentID])
    }

    /// How a technician's message reads on WhatsApp: signed with their name when the chat has more than one
    /// technician, so the customer knows who writes (`*Ana López*:` on its own line, WhatsApp's bold).
    static func signed(_ text: String, by agent: Agent?, in ticket: TicketFacts) -> String {
        guard let agent, !ticket.participantIDs.isEmpty || (ticket.assignedAgentID.map { $0 != agent.id } ?? false)
        else { return text }
        return text.isEmpty ? "*\(agent.displayName)*" : "*\(agent.displayName)*:\n\(text)"
    }
}
