import GRDB

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
    /// Assign the chat to someone else.
    case administer
}

/// The one access policy, used by every controller, the WebSocket upgrade and upload grants.
///
/// - Admins: everything.
/// - Agents: everything but `administer` on their own chats and on unassigned ones; nothing (not even `read`) on
///   chats assigned to another agent. Transferring is decided by the assignment rule (the assignee or an admin).
/// - A web visitor (room token): `read`, `write` and `upload` on their own chat only; any other ticket does not
///   exist for them (404).
/// - Nobody: 401.
/// - Nobody writes or uploads in a closed ticket.
enum TicketAccess {
    static func check(_ action: TicketAction, caller: Caller?, ticket: TicketFacts) throws(ConversationProblem) {
        switch caller {
        case nil:
            throw .unauthorized
        case .guest(let own):
            guard own == ticket.id else { throw .notFound }
            guard action == .read || action == .write || action == .upload else { throw .forbidden(.agentsOnly) }
        case .agent(let agent):
            if action == .administer, agent.role != .admin { throw .forbidden(.adminsOnly) }
            guard mayReach(agent, ticket.assignedAgentID) else {
                throw .forbidden(action == .write || action == .upload ? .notYourChat : .othersChat)
            }
        }
        if action == .write || action == .upload, ticket.status == .closed { throw .closed }
    }

    /// Admins reach every ticket; agents their own and unassigned ones.
    static func mayReach(_ agent: Agent, _ assignedAgentID: Int64?) -> Bool {
        agent.role == .admin || assignedAgentID == nil || assignedAgentID == agent.id
    }

    /// The same rule as SQL over `tickets t`, for lists.
    static func visibility(for agent: Agent) -> (sql: String, arguments: StatementArguments) {
        agent.role == .admin ? ("1", []) : ("(t.assigned_agent_id IS NULL OR t.assigned_agent_id = ?)", [agent.id])
    }
}
