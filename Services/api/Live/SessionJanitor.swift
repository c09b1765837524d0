import Foundation
import Logging
import ServiceLifecycle

/// Ends what has run out, on a schedule: every `sweepInterval` it checks this instance's agent sockets against
/// their sessions (closing those that expired, and those a lost revocation poke left open); every
/// `purgeInterval` it deletes expired sessions, guest sessions, WebSocket tickets and old room tokens.
struct SessionJanitor: Service {
    let hub: LiveHub
    let purge: SessionPurge
    let clock: WallClock
    let sweepInterval: Duration
    let purgeInterval: Duration
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await Self.every(sweepInterval) { await hub.sweep() } }
            group.addTask { await Self.every(purgeInterval) { await purgeOnce() } }
        }
    }

    /// One purge; a failure is logged and the next run tries again.
    func purgeOnce() async {
        do {
            let removed = try await purge.run(now: clock.now())
            if removed != SessionPurge.Removed() {
                logger.info(
                    "purged expired sessions",
                    metadata: [
                        "sessions": "\(removed.sessions)", "guest_sessions": "\(removed.guestSessions)",
                        "ws_tickets": "\(removed.webSocketTickets)", "room_tokens": "\(removed.roomTokens)",
                    ])
            }
        } catch {
            logger.warning("session purge failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` every `interval` until graceful shutdown or cancellation.
    private static func every(_ interval: Duration, _ body: @Sendable () async -> Void) async {
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            await body()
        }
    }
}
