import Foundation
import MostradorContracts
import MostradorSQL

extension Conversations {
    /// How an agent comes to a chat.
    enum Assignment: Sendable {
        /// An agent takes an unassigned chat.
        case take
        /// An admin gives it to an agent.
        case assign
        /// The assigned agent (or an admin) hands it to another agent.
        case transfer
        /// Auto-assignment (`AutoAssignment`): a new chat, or one whose agent became unavailable.
        case automatic

        /// The audit log's name for it.
        var action: String { self == .automatic ? "ticket.auto_assign" : "ticket.\(self)" }
    }

    /// Gives the chat to `target`, with system notes, events and live frames. Returns the ticket afterwards.
    func assign(_ ticketID: Int64, to target: Agent, by actor: Agent, as assignment: Assignment) async throws
        -> TicketFacts
    {
        let (ticket, previous) = try await committer.write { db -> (TicketFacts, Agent?) in
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { throw ConversationProblem.notFound }
            let previous = try ticket.assignedAgentID.flatMap { try Agent.fetch(id: $0, db: db) }
            return (try Self.assign(ticket, from: previous, to: target, by: actor, as: assignment, db: db), previous)
        }
        outboxWakeup.signal()
        live.changed(ticketID)
        if let previous, previous.id != target.id {
            live.send(
                LiveEvent(
                    ticketID: ticketID, kind: .agentLeft, userID: previous.liveID, userName: previous.displayName,
                    userKind: "AGENTE"))
            live.send(
                LiveEvent(
                    ticketID: ticketID, kind: .chatTransferred, userID: target.liveID, userName: target.displayName,
                    userKind: "AGENTE", previousUserID: previous.liveID, previousUserName: previous.displayName,
                    text: Self.transferNote(from: previous, to: target)))
        }
        if previous?.id != target.id { live.send(.joined(target, ticketID: ticketID)) }
        return ticket
    }

    /// The assignment rule, inside a transaction: closed chats stay as they are; `take` only what nobody else has;
    /// `assign` is for admins; `transfer` for the assignee or an admin; `automatic` is the system's (its `actor`, if
    /// any, is who caused it: the agent who went unavailable). `previous` is the agent the ticket is assigned to now
    /// (nil when unassigned), which the caller has already read.
    static func assign(
        _ ticket: TicketFacts, from previous: Agent?, to target: Agent, by actor: Agent?, as assignment: Assignment,
        db: Database
    ) throws -> TicketFacts {
        guard ticket.status != .closed else { throw ConversationProblem.closed }
        guard target.isActive else { throw ConversationProblem.invalid("El agente está desactivado") }
        switch assignment {
        case .take:
            if let current = ticket.assignedAgentID, current != actor?.id {
                throw ConversationProblem.conflict("El chat ya está asignado a otro agente")
            }
        case .assign:
            guard actor?.role == .admin else { throw ConversationProblem.forbidden(.adminsOnly) }
        case .transfer:
            guard let actor, actor.role == .admin || ticket.assignedAgentID == actor.id else {
                throw ConversationProblem.forbidden(.transfer)
            }
            guard ticket.assignedAgentID != target.id else {
                throw ConversationProblem.invalid("El chat ya está asignado a ese agente")
            }
        case .automatic:
            break
        }
        if ticket.assignedAgentID == target.id { return ticket }
        try Tickets.assign(ticketID: ticket.id, to: target.id, db: db)
        var details = ["a": target.username]
        if let previous { details["de"] = previous.username }
        try AuditLog.add(
            AuditEntry(
                assignment.action, by: actor, target: ("ticket", String(ticket.id)), ticketID: ticket.id,
                details: details),
            db: db)
        try promoteParticipant(target.id, in: ticket.id, db: db)
        if let previous {
            _ = try Messages.insert(.note("\(previous.displayName) dejó el chat"), on: ticket, db: db)
            _ = try Messages.insert(.note(transferNote(from: previous, to: target)), on: ticket, db: db)
            try Outbox.add(
                ChatTransferred(
                    ticketID: ticket.id, fromAgentID: previous.id, toAgentID: target.id,
                    toAgentName: target.displayName, byAgentID: actor?.id ?? previous.id,
                    customerName: ticket.customerName),
                in: db)
        }
        _ = try Messages.insert(
            .note(
                assignment == .automatic
                    ? "Asignado automáticamente a \(target.displayName)" : "\(target.displayName) se unió al chat"),
            on: ticket, db: db)
        try Outbox.add(
            TicketAssigned(
                ticketID: ticket.id, agentID: target.id, agentName: target.displayName, previousAgentID: previous?.id,
                byAgentID: actor?.id, channel: ticket.channel, recipient: ticket.replyAddress,
                language: ticket.language,
                customerName: ticket.customerName, replyChannel: ticket.replyChannel,
                windowClosesAt: try Self.windowClosesAt(ticket, db: db)),
            in: db)
        return try TicketFacts.fetch(id: ticket.id, db: db)!
    }

    static func transferNote(from previous: Agent, to target: Agent) -> String {
        "Chat transferido de \(previous.displayName) a \(target.displayName)"
    }

    /// Resolves or closes a chat. Closing is final: resolving a closed chat is refused, closing it again is not.
    func setStatus(_ status: TicketStatus, of ticketID: Int64, by actor: Agent) async throws -> TicketFacts {
        precondition(status == .resolved || status == .closed)
        let (ticket, freed) = try await committer.write { db -> (TicketFacts, [Int64]) in
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { throw ConversationProblem.notFound }
            try TicketAccess.check(.act, caller: .agent(actor), ticket: ticket)
            if ticket.status == .closed, status != .closed { throw ConversationProblem.closed }
            if ticket.status == status { return (ticket, []) }
            try Tickets.setStatus(status, ticketID: ticketID, db: db)
            try AuditLog.add(
                AuditEntry(
                    status == .resolved ? "ticket.resolve" : "ticket.close", by: actor,
                    target: ("ticket", String(ticketID)), ticketID: ticketID,
                    details: ["estado_anterior": ticket.status.rawValue]),
                db: db)
            let note =
                status == .resolved
                ? "Chat resuelto por \(actor.displayName)" : "Chat cerrado por \(actor.displayName)"
            _ = try Messages.insert(.note(note), on: ticket, db: db)
            try Outbox.add(
                TicketStatusChanged(
                    ticketID: ticketID, from: ticket.status.rawValue, to: status.rawValue, at: Date(),
                    channel: ticket.channel, recipient: ticket.replyAddress, language: ticket.language,
                    customerName: ticket.customerName, assignedAgentID: ticket.assignedAgentID,
                    replyChannel: ticket.replyChannel, windowClosesAt: try Self.windowClosesAt(ticket, db: db),
                    byAgentID: actor.id),
                in: db)
            if status == .resolved, let resolved = try TicketFacts.fetch(id: ticketID, db: db) {
                try Satisfaction.request(resolved, agentID: ticket.assignedAgentID ?? actor.id, now: Date(), db: db)
            }
            // The agent has room for another chat.
            let freed = try AutoAssignment.drainQueue(db: db)
            return (try TicketFacts.fetch(id: ticketID, db: db)!, freed)
        }
        outboxWakeup.signal()
        live.changed(ticketID)
        live.send(LiveEvent(ticketID: ticketID, kind: .status))
        announce(freed)
        return ticket
    }

    /// When a Cloud API conversation's window closes, for the notifier (nil on channels without one).
    static func windowClosesAt(_ ticket: TicketFacts, db: Database) throws -> Date? {
        guard let window = try ServiceWindow.of(ticket, db: db), window.applies else { return nil }
        return window.closesAt ?? .distantPast
    }

    /// The customer wrote: a resolved ticket opens again, one waiting on the customer is back with the technicians.
    static func customerWrote(_ ticket: TicketFacts, db: Database) throws {
        switch ticket.status {
        case .resolved: try reopen(ticket, db: db)
        case .waiting: try Tickets.setStatus(.open, ticketID: ticket.id, db: db)
        case .new, .open, .closed: break
        }
    }

    /// The customer wrote in a resolved ticket: it is open again.
    static func reopen(_ ticket: TicketFacts, db: Database) throws {
        try Tickets.setStatus(.open, ticketID: ticket.id, db: db)
        try Outbox.add(
            TicketStatusChanged(
                ticketID: ticket.id, from: TicketStatus.resolved.rawValue, to: TicketStatus.open.rawValue, at: Date(),
                channel: ticket.channel, recipient: ticket.replyAddress, language: ticket.language,
                customerName: ticket.customerName, assignedAgentID: ticket.assignedAgentID,
                replyChannel: ticket.replyChannel),
            in: db)
    }
}

extension Agent {
    static func fetch(id: Int64, db: Database) throws -> Agent? {
        try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [id]).map(Agent.init(row:))
    }

    /// How live frames name an agent.
    var liveID: String { "agente-\(id)" }
}

extension LiveEvent {
    static func joined(_ agent: Agent, ticketID: Int64) -> LiveEvent {
        LiveEvent(
            ticketID: ticketID, kind: .agentJoined, userID: agent.liveID, userName: agent.displayName,
            userKind: "AGENTE")
    }
}
