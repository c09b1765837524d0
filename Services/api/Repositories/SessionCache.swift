import Foundation
import Synchronization

/// Agents' live sessions as recently read, so that an authenticated request does not cost a database read.
///
/// An entry lives `lifetime` (2 s by default) and never past its session's expiry. This instance forgets an agent's
/// entries as soon as it logs out or is changed here; other instances forget everything when the live feed brings
/// their `sessions_revoked` poke (logout, deactivation, demotion, new password), and otherwise within `lifetime`.
/// A `lifetime` of zero turns the cache off.
final class SessionCache: Sendable {
    struct Entry: Sendable {
        let agent: Agent
        let sessionExpiresAt: Date
        let readAt: Date
    }

    let lifetime: TimeInterval
    /// Beyond this many entries the cache starts again empty (tokens are random: a flood of unknown ones is never
    /// stored, so only real sessions fill it).
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(lifetime: Duration = .seconds(2), capacity: Int = 10_000) {
        self.lifetime = TimeInterval(lifetime.components.seconds) + TimeInterval(lifetime.components.attoseconds) / 1e18
        self.capacity = capacity
    }

    /// The agent of the session with this token digest, if it was read less than `lifetime` ago and has not expired.
    func agent(digest: String, now: Date) -> Agent? {
        guard lifetime > 0 else { return nil }
        return entries.withLock { entries in
            guard let entry = entries[digest] else { return nil }
            guard now < entry.sessionExpiresAt, now.timeIntervalSince(entry.readAt) < lifetime, now >= entry.readAt
            else {
                entries[digest] = nil
                return nil
            }
            return entry.agent
        }
    }

    func store(digest: String, agent: Agent, sessionExpiresAt: Date, now: Date) {
        guard lifetime > 0 else { return }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[digest] = Entry(agent: agent, sessionExpiresAt: sessionExpiresAt, readAt: now)
        }
    }

    func forget(digest: String) {
        _ = entries.withLock { $0.removeValue(forKey: digest) }
    }

    func forget(agentID: Int64) {
        entries.withLock { entries in entries = entries.filter { $0.value.agent.id != agentID } }
    }

    func forgetAll() {
        entries.withLock { $0.removeAll() }
    }

    var count: Int { entries.withLock { $0.count } }
}
