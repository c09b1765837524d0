import Foundation
import MostradorSQL

/// A web visitor who started a chat (seed 002 step 1) and has not completed their profile yet.
struct GuestSession: Sendable {
    let id: String
    let initialMessage: String
    let createdAt: Date
    let expiresAt: Date
    let ticketID: Int64?

    init(row: Row) {
        id = row["id"]
        initialMessage = row["initial_message"]
        createdAt = row["created_at"]
        expiresAt = row["expires_at"]
        ticketID = row["ticket_id"]
    }

    var completed: Bool { ticketID != nil }
    var hasMessage: Bool { !initialMessage.isEmpty }

    /// Whether it may still open a chat at `now`.
    func isValid(at now: Date) -> Bool { expiresAt > now && !completed }
}

/// Guest sessions: persistence only.
struct GuestSessions: Sendable {
    let reader: SQLDatabase

    enum Problem: Error, Equatable {
        case tooManyChats
        case expired
        case alreadyCompleted
    }

    /// A session that lives `lifetime`; at most `limit` per IP within `window`.
    static func start(
        initialMessage: String, ip: String?, limit: Int, window: TimeInterval, lifetime: TimeInterval, now: Date,
        db: Database
    ) throws -> GuestSession {
        if let ip {
            let recent =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM guest_sessions WHERE ip = ? AND created_at > ?",
                    arguments: [ip, now.addingTimeInterval(-window)]) ?? 0
            guard recent < limit else { throw Problem.tooManyChats }
        }
        let id = UUID().uuidString.lowercased()
        try db.execute(
            sql: "INSERT INTO guest_sessions (id, initial_message, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [id, initialMessage, ip, now, now.addingTimeInterval(lifetime)])
        return try fetch(id, db: db)!
    }

    static func fetch(_ id: String, db: Database) throws -> GuestSession? {
        try Row.fetchOne(db, sql: "SELECT * FROM guest_sessions WHERE id = ?", arguments: [id.lowercased()])
            .map(GuestSession.init(row:))
    }

    /// The session, if it may still open a chat.
    static func claimable(_ id: String, now: Date, db: Database) throws -> GuestSession {
        guard let session = try fetch(id, db: db), session.expiresAt > now else { throw Problem.expired }
        guard !session.completed else { throw Problem.alreadyCompleted }
        return session
    }

    static func complete(_ id: String, ticketID: Int64, db: Database) throws {
        try db.execute(
            sql: "UPDATE guest_sessions SET ticket_id = ? WHERE id = ?", arguments: [ticketID, id.lowercased()])
    }

    /// Deletes sessions that have expired and were started before `startedBefore` (kept that long because they
    /// count towards the per-IP limit); returns how many.
    static func deleteExpired(now: Date, startedBefore: Date, db: Database) throws -> Int {
        try db.execute(
            sql: "DELETE FROM guest_sessions WHERE expires_at <= ? AND created_at <= ?",
            arguments: [now, startedBefore])
        return db.changesCount
    }

    /// A room token expires with its chat: forgets the token of every chat closed before `closedBefore` (the
    /// visitor may read their history until then, write never). Returns how many tokens it forgot.
    static func expireRoomTokens(closedBefore: Date, db: Database) throws -> Int {
        try db.execute(
            sql: """
                UPDATE tickets SET guest_token_hash = NULL
                WHERE guest_token_hash IS NOT NULL AND status = 'closed' AND closed_at <= ?
                """,
            arguments: [closedBefore])
        return db.changesCount
    }

    func find(_ id: String) async throws -> GuestSession? {
        try await reader.read { db in try Self.fetch(id, db: db) }
    }
}
