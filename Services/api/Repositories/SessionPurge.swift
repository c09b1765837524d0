import Foundation
import MostradorSQL
import MostradorStorage

/// Deletes what has run out, in one transaction: expired agent sessions, expired guest sessions (once they no
/// longer count towards the per-IP limit), unused WebSocket tickets and upload grants, and the room tokens of chats closed longer
/// ago than `roomTokenLifetimeAfterClose`.
struct SessionPurge: Sendable {
    let committer: SQLCommitter
    /// How long a guest session is kept after it starts (the longer of its lifetime and the per-IP window).
    let guestSessionRetention: TimeInterval
    let roomTokenLifetimeAfterClose: TimeInterval

    /// How many rows one run removed.
    struct Removed: Sendable, Equatable {
        var sessions = 0
        var guestSessions = 0
        var webSocketTickets = 0
        var roomTokens = 0
        var uploadGrants = 0
    }

    init(committer: SQLCommitter, settings: APISettings) {
        self.committer = committer
        guestSessionRetention = max(settings.guestSessionLifetime, settings.guestChatWindow)
        roomTokenLifetimeAfterClose = settings.roomTokenLifetimeAfterClose
    }

    func run(now: Date) async throws -> Removed {
        try await committer.write { db in
            Removed(
                sessions: try AgentStore.deleteExpiredSessions(now: now, db: db),
                guestSessions: try GuestSessions.deleteExpired(
                    now: now, startedBefore: now.addingTimeInterval(-guestSessionRetention), db: db),
                webSocketTickets: try WebSocketTickets.deleteExpired(now: now, db: db),
                roomTokens: try GuestSessions.expireRoomTokens(
                    closedBefore: now.addingTimeInterval(-roomTokenLifetimeAfterClose), db: db),
                uploadGrants: try UploadGrantStore.deleteExpired(now: now, db: db))
        }
    }
}
