import Foundation
import MostradorSQL
import MostradorStorage

/// Short-lived, single-use keys for opening a WebSocket (`POST /api/auth/ws-ticket/`), so that no long-lived
/// token travels in a URL. Kept in the database (as SHA-256) so that any api instance can take one.
struct WebSocketTickets: Sendable {
    /// How long a ticket may wait before it is used.
    static let lifetime: TimeInterval = 30

    let committer: SQLCommitter
    let clock: WallClock

    init(_ conversations: Conversations) {
        committer = conversations.committer
        clock = conversations.clock
    }

    /// What a ticket was issued for: the credential that asked for it, and the ticket it is limited to, if any.
    struct Grant: Sendable, Equatable {
        let credential: LiveCredential
        let ticketID: Int64?
    }

    /// A new ticket for `grant`, valid for `lifetime`.
    func issue(_ grant: Grant) async throws -> String {
        let ticket = AgentStore.newToken()
        let expires = clock.now().addingTimeInterval(Self.lifetime)
        try await committer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO ws_tickets (ticket_hash, credential, credential_hash, ticket_id, expires_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [
                    AgentStore.digest(ticket), grant.credential.kind, grant.credential.digest, grant.ticketID, expires,
                ])
        }
        return ticket
    }

    /// Takes a ticket: what it was issued for, if it exists and has not expired. Either way it is gone afterwards.
    func redeem(_ ticket: String) async throws -> Grant? {
        guard !ticket.isEmpty, ticket.count <= 200 else { return nil }
        let digest = AgentStore.digest(ticket)
        let now = clock.now()
        return try await committer.write { db -> Grant? in
            let row = try Row.fetchOne(
                db, sql: "SELECT * FROM ws_tickets WHERE ticket_hash = ?", arguments: [digest])
            guard let row else { return nil }
            try db.execute(sql: "DELETE FROM ws_tickets WHERE ticket_hash = ?", arguments: [digest])
            let expires: Date = row["expires_at"]
            guard expires > now,
                let credential = LiveCredential(kind: row["credential"], digest: row["credential_hash"])
            else { return nil }
            return Grant(credential: credential, ticketID: row["ticket_id"])
        }
    }

    /// Deletes the tickets nobody used in time; returns how many.
    static func deleteExpired(now: Date, db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM ws_tickets WHERE expires_at <= ?", arguments: [now])
        return db.changesCount
    }
}
