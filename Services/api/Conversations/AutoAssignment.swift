import Foundation
import MostradorSQL

/// Admin settings kept in the database (`app_settings`), so that every api instance reads the same.
enum AppSettings {
    static func read<Value: Decodable>(_ key: String, as _: Value.Type, db: Database) throws -> Value? {
        guard let json = try String.fetchOne(db, sql: "SELECT value FROM app_settings WHERE key = ?", arguments: [key])
        else { return nil }
        return try? JSONDecoder().decode(Value.self, from: Data(json.utf8))
    }

    static func write<Value: Encodable>(_ key: String, _ value: Value, db: Database) throws {
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT INTO app_settings (key, value, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """,
            arguments: [key, json, Date()])
    }
}

/// Auto-assignment (off by default): new chats go round-robin to the available agents who have room (fewer open
/// chats than `capacity`); the agent auto-assigned longest ago goes first. Chats that find nobody wait unassigned
/// and are handed out, oldest first, as soon as someone has room (an agent comes back, a chat is resolved or
/// closed, the settings change). When an agent becomes unavailable or is deactivated, their open chats go to
/// others, or back to the queue. A new chat is assigned in the transaction that creates it, a resolved or closed
/// chat's room is handed on in the transaction that frees it.
enum AutoAssignment {
    struct Policy: Codable, Sendable, Equatable {
        var enabled = false
        /// Open chats (not resolved or closed) an agent may have before auto-assignment passes them by.
        var capacity = 5

        static let capacityRange = 1...200
    }

    static let key = "auto_assignment"

    static func policy(db: Database) throws -> Policy {
        try AppSettings.read(key, as: Policy.self, db: db) ?? Policy()
    }

    /// The next agent with room, round-robin; nil when nobody has any.
    static func pick(_ policy: Policy, excluding excluded: Int64? = nil, db: Database) throws -> Agent? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT a.* FROM agents a
                WHERE a.is_active AND a.is_available AND a.id IS DISTINCT FROM ?
                  AND (SELECT COUNT(*) FROM tickets t
                       WHERE t.assigned_agent_id = a.id AND t.status NOT IN ('resolved', 'closed')) < ?
                ORDER BY a.last_auto_assigned_at IS NOT NULL, a.last_auto_assigned_at, a.id
                LIMIT 1
                """,
            arguments: [excluded, policy.capacity]
        ).map(Agent.init(row:))
    }

    /// Gives `ticketID` to the next agent with room, if auto-assignment is on. Returns the agent.
    @discardableResult
    static func assign(_ ticketID: Int64, by actor: Agent? = nil, excluding excluded: Int64? = nil, db: Database)
        throws -> Agent?
    {
        let policy = try policy(db: db)
        guard policy.enabled else { return nil }
        return try assign(ticketID, policy: policy, by: actor, excluding: excluded, db: db)
    }

    static func assign(_ ticketID: Int64, policy: Policy, by actor: Agent?, excluding excluded: Int64?, db: Database)
        throws -> Agent?
    {
        guard let ticket = try TicketFacts.fetch(id: ticketID, db: db), ticket.status != .closed,
            ticket.status != .resolved, let agent = try pick(policy, excluding: excluded, db: db)
        else { return nil }
        let previous = try ticket.assignedAgentID.flatMap { try Agent.fetch(id: $0, db: db) }
        _ = try Conversations.assign(ticket, from: previous, to: agent, by: actor, as: .automatic, db: db)
        try db.execute(
            sql: "UPDATE agents SET last_auto_assigned_at = ? WHERE id = ?", arguments: [Date(), agent.id])
        return agent
    }

    /// Hands out waiting chats (unassigned, not resolved or closed), oldest first, while someone has room. Returns
    /// the tickets it assigned.
    @discardableResult
    static func drainQueue(db: Database, limit: Int = 200) throws -> [Int64] {
        let policy = try policy(db: db)
        guard policy.enabled else { return [] }
        var assigned: [Int64] = []
        let waiting = try Int64.fetchAll(
            db,
            sql: """
                SELECT id FROM tickets WHERE assigned_agent_id IS NULL AND status NOT IN ('resolved', 'closed')
                ORDER BY id LIMIT ?
                """,
            arguments: [limit])
        for ticketID in waiting {
            guard try assign(ticketID, policy: policy, by: nil, excluding: nil, db: db) != nil else { break }
            assigned.append(ticketID)
        }
        return assigned
    }

    /// `agent` became unavailable or was deactivated: each open chat of theirs goes to another agent with room, or
    /// back to the queue. Returns the tickets that changed.
    @discardableResult
    static func release(_ agent: Agent, by actor: Agent, db: Database) throws -> [Int64] {
        let policy = try policy(db: db)
        guard policy.enabled else { return [] }
        let open = try Int64.fetchAll(
            db,
            sql: """
                SELECT id FROM tickets WHERE assigned_agent_id = ? AND status NOT IN ('resolved', 'closed') ORDER BY id
                """,
            arguments: [agent.id])
        for ticketID in open
        where try assign(ticketID, policy: policy, by: actor, excluding: agent.id, db: db) == nil {
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { continue }
            try db.execute(
                sql: "UPDATE tickets SET assigned_agent_id = NULL, assigned_at = NULL, updated_at = ? WHERE id = ?",
                arguments: [Date(), ticketID])
            _ = try Messages.insert(
                .note("\(agent.displayName) no está disponible: el chat vuelve a la cola"), on: ticket, db: db)
            try AuditLog.add(
                AuditEntry(
                    "ticket.unassign", by: actor, target: ("ticket", String(ticketID)), ticketID: ticketID,
                    details: ["de": agent.username]),
                db: db)
        }
        return open
    }
}

extension Conversations {
    /// After `agent` changed: unavailable or deactivated, their open chats move on; available, the queue is drained.
    func rebalance(after agent: Agent, by actor: Agent) async throws {
        let changed = try await committer.write { db -> [Int64] in
            guard let current = try Agent.fetch(id: agent.id, db: db) else { return [] }
            if !current.isActive || !current.isAvailable {
                return try AutoAssignment.release(current, by: actor, db: db)
            }
            return try AutoAssignment.drainQueue(db: db)
        }
        announce(changed)
    }

    func assignmentPolicy() async throws -> AutoAssignment.Policy {
        try await committer.writer.read { db in try AutoAssignment.policy(db: db) }
    }

    /// Saves the policy and hands out what waits, if it is on.
    func setAssignmentPolicy(_ policy: AutoAssignment.Policy, by admin: Agent) async throws {
        let changed = try await committer.write { db -> [Int64] in
            try AppSettings.write(AutoAssignment.key, policy, db: db)
            try AuditLog.add(
                AuditEntry(
                    "settings.auto_assignment", by: admin,
                    details: ["activa": String(policy.enabled), "capacidad": String(policy.capacity)]),
                db: db)
            return try AutoAssignment.drainQueue(db: db)
        }
        announce(changed)
    }

    func announce(_ tickets: [Int64]) {
        guard !tickets.isEmpty else { return }
        outboxWakeup.signal()
        for ticketID in tickets {
            live.changed(ticketID)
            live.send(LiveEvent(ticketID: ticketID, kind: .status))
        }
    }
}
