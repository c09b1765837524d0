import MostradorSQL

/// What a caller wants to do with a ticket.
enum TicketAction: String, Sendable, CaseIterable {
    /// See the ticket, its messages, files, statistics; open its WebSocket.
    case read
    /// Write in the conversation (an agent writing in an unassigned chat takes it).
    case write
    /// Send a file (an upload grant, then the upload).
    case upload
    /// Take, resolve or close the chat.
    case act
    /// Invite other agents to the chat, or remove them from it.
    case invite
    /// Assign the chat to someone else.
    case administer
    /// Write a private note (agents only, who may read the ticket; closed tickets too: notes document afterwards).
    case note
    /// Put labels on the ticket (as `note`: the agents who may read it).
    case label
}

/// The one access policy, used by every controller, the WebSocket upgrade and upload grants.
///
/// - Admins: everything.
/// - Agents, on their own chats (assigned to them): everything but `administer`. On unassigned chats: everything
///   but `administer` and `invite` (there is no owner to invite on behalf of: take it first). On chats they were
///   invited to (participants): `read`, `write` and `upload`; resolving, closing and inviting stay with the owner.
///   On chats assigned to another agent without them: nothing, not even `read`. Transferring is decided by the
///   assignment rule (the assignee or an admin); leaving a chat is always one's own decision.
/// - Private notes (`note`) and labels (`label`): whoever of the agents may `read` the ticket; never a web visitor.
/// - A web visitor (room token): `read`, `write` and `upload` on their own chat only; any other ticket does not
///   exist for them (404).
/// - Nobody: 401.
/// - Nobody writes or uploads in a closed ticket.
enum TicketAccess {
    /// How an agent stands to a ticket.
    enum Standing: Equatable {
        case admin
        case owner
        case unassigned
        case participant
        case outsider
    }

    static func standing(of agent: Agent, in ticket: TicketFacts) -> Standing {
        if agent.role == .admin { return .admin }
        if ticket.assignedAgentID == agent.id { return .owner }
        if ticket.assignedAgentID == nil { return .unassigned }
        return ticket.participantIDs.contains(agent.id) ? .participant : .outsider
    }

    static func check(_ action: TicketAction, caller: Caller?, ticket: TicketFacts) throws(ConversationProblem) {
        switch caller {
        case nil:
            throw .unauthorized
        case .guest(let own):
            guard own == ticket.id else { throw .notFound }
            guard action == .read || action == .write || action == .upload else { throw .forbidden(.agentsOnly) }
        case .agent(let agent):
            if action == .administer, agent.role != .admin { throw .forbidden(.adminsOnly) }
            switch (standing(of: agent, in: ticket), action) {
            case (.admin, _), (.owner, _):
                break
            case (.outsider, _):
                throw .forbidden(action == .write || action == .upload ? .notYourChat : .othersChat)
            case (.unassigned, .invite):
                throw .forbidden(.ownerOnly)
            case (.participant, .act), (.participant, .invite):
                throw .forbidden(.ownerOnly)
            case (.unassigned, _), (.participant, _):
                break
            }
        }
        if action == .write || action == .upload, ticket.status == .closed { throw .closed }
    }

    /// The same reach as SQL over `tickets t`, for lists: admins every ticket; agents their own, unassigned ones
    /// and those they take part in.
    static func visibility(for agent: Agent) -> (sql: String, arguments: StatementArguments) {
        guard agent.role != .admin else { return ("TRUE", []) }
        return (
            """
            (t.assigned_agent_id IS NULL OR t.assigned_agent_id = ?
             OR EXISTS (SELECT 1 FROM ticket_participants p WHERE p.ticket_id = t.id AND p.agent_id = ?))
            """, [agent.id, agent.id]
        )
    }
}
