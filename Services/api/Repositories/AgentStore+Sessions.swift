import Foundation
import MostradorSQL

extension AgentStore {
    /// A live session by the SHA-256 of its token: its agent (active) and when it expires.
    static func session(digest: String, now: Date, db: Database) throws -> (agent: Agent, expiresAt: Date)? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT a.*, s.expires_at AS session_expires_at FROM sessions s JOIN agents a ON a.id = s.agent_id
                    WHERE s.token_hash = ? AND s.expires_at > ? AND a.is_active
                    """),
            arguments: [digest, now]
        ).map { (Agent(row: $0), $0["session_expires_at"]) }
    }

    /// Deletes the sessions that have expired; returns how many.
    static func deleteExpiredSessions(now: Date, db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [now])
        return db.changesCount
    }
}
