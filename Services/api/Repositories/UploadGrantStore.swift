import Foundation
import MostradorSQL
import MostradorStorage

/// The upload grants a WebSocket was given, kept in the database (as SHA-256) beside the memory of the instance
/// that gave them (`UploadGrants`, which counts them against their socket), so that the file's `POST` may reach
/// any api instance and a grant is used once across all of them.
struct UploadGrantStore: Sendable {
    let committer: SQLCommitter
    let clock: WallClock

    init(_ conversations: Conversations) {
        committer = conversations.committer
        clock = conversations.clock
    }

    func save(_ token: String, ticketID: Int64, caller: Caller) async throws {
        let expires = clock.now().addingTimeInterval(TimeInterval(UploadGrants.lifetime))
        try await committer.write { db in
            try db.execute(
                sql: "INSERT INTO upload_grants (token_hash, ticket_id, agent_id, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [AgentStore.digest(token), ticketID, caller.agent?.id, expires])
        }
    }

    /// Who holds `token` for `ticketID`, if it is still valid (an agent only while active); it stays unused.
    func holder(_ token: String, ticketID: Int64) async throws -> Caller? {
        guard !token.isEmpty, token.count <= 200 else { return nil }
        let (digest, now) = (AgentStore.digest(token), clock.now())
        return try await committer.writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT agent_id, expires_at FROM upload_grants WHERE token_hash = ? AND ticket_id = ?",
                    arguments: [digest, ticketID])
            else { return nil }
            return try Self.caller(row, ticketID: ticketID, now: now, db: db)
        }
    }

    /// Takes the grant (once, whichever instance asks first): its holder, if it was still valid.
    func take(_ token: String, ticketID: Int64) async throws -> Caller? {
        guard !token.isEmpty, token.count <= 200 else { return nil }
        let (digest, now) = (AgentStore.digest(token), clock.now())
        return try await committer.write { db -> Caller? in
            guard
                let row = try Row.fetchOne(
                    db, sql: "DELETE FROM upload_grants WHERE token_hash = ? AND ticket_id = ? RETURNING *",
                    arguments: [digest, ticketID])
            else { return nil }
            return try Self.caller(row, ticketID: ticketID, now: now, db: db)
        }
    }

    private static func caller(_ row: Row, ticketID: Int64, now: Date, db: Database) throws -> Caller? {
        guard (row["expires_at"] as Date) > now else { return nil }
        guard let agentID: Int64 = row["agent_id"] else { return .guest(ticketID: ticketID) }
        return try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ? AND is_active", arguments: [agentID])
            .map { .agent(Agent(row: $0)) }
    }

    /// Deletes the grants nobody used in time; returns how many.
    static func deleteExpired(now: Date, db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM upload_grants WHERE expires_at <= ?", arguments: [now])
        return db.changesCount
    }
}
