import Foundation
import MostradorServiceKit
import Synchronization

/// Counts events per key over a sliding window and refuses a key that already had `limit` of them: the api's one
/// in-memory limiter (login failures by username and by client, …), safe to share between requests.
///
/// Memory is bounded: a key holds at most `limit` timestamps, keys whose window has passed are dropped, and when
/// `maximumKeys` are held the least recently active tenth is evicted (an evicted key starts afresh, so the cap
/// should sit well above the keys an honest load produces).
final class RateLimiter<Key: Hashable & Sendable>: Sendable {
    /// What `acquire` or `check` decided.
    enum Decision: Equatable, Sendable {
        case allowed
        /// Refused; the key may act again after this many whole seconds (at least 1).
        case limited(retryAfter: Int)

        var retryAfter: Int? {
            if case .limited(let seconds) = self { seconds } else { nil }
        }
    }

    let limit: Int
    let window: TimeInterval
    let maximumKeys: Int
    private let clock: WallClock
    /// Per key, the times of its events within the window, oldest first (never more than `limit`).
    private let events = Mutex<[Key: [Date]]>([:])

    init(limit: Int, window: TimeInterval, maximumKeys: Int = 100_000, clock: WallClock = .system) {
        precondition(limit > 0 && window > 0 && maximumKeys > 0, "a limiter needs a positive limit, window and size")
        self.limit = limit
        self.window = window
        self.maximumKeys = maximumKeys
        self.clock = clock
    }

    /// Records an event for `key` unless it already had `limit` in the window (then nothing is recorded).
    func acquire(_ key: Key) -> Decision {
        let now = clock.now()
        return events.withLock { events in
            let decision = Self.decide(events[key], now: now, limit: limit, window: window)
            if decision == .allowed { record(key, at: now, in: &events) }
            return decision
        }
    }

    /// Whether `key` would be allowed now, without recording anything.
    func check(_ key: Key) -> Decision {
        let now = clock.now()
        return events.withLock { Self.decide($0[key], now: now, limit: limit, window: window) }
    }

    /// Records an event for `key` whatever its count (for limits on outcomes, such as failures, counted afterwards).
    func record(_ key: Key) {
        let now = clock.now()
        events.withLock { record(key, at: now, in: &$0) }
    }

    /// Takes back the latest event of `key` (an attempt that turned out not to count).
    func refund(_ key: Key) {
        events.withLock { events in
            guard var times = events[key], !times.isEmpty else { return }
            times.removeLast()
            events[key] = times.isEmpty ? nil : times
        }
    }

    /// Forgets `key` (for example, a username after a successful login).
    func reset(_ key: Key) {
        _ = events.withLock { $0.removeValue(forKey: key) }
    }

    /// How many keys are held.
    var keyCount: Int { events.withLock { $0.count } }

    private static func decide(_ times: [Date]?, now: Date, limit: Int, window: TimeInterval) -> Decision {
        let current = (times ?? []).filter { $0 > now.addingTimeInterval(-window) }
        guard current.count >= limit else { return .allowed }
        // The key may act again when the oldest of its last `limit` events leaves the window.
        let freed = current[current.count - limit].addingTimeInterval(window)
        return .limited(retryAfter: max(1, Int(saturating: freed.timeIntervalSince(now).rounded(.up))))
    }

    private func record(_ key: Key, at now: Date, in events: inout [Key: [Date]]) {
        let horizon = now.addingTimeInterval(-window)
        var times = events[key]?.filter { $0 > horizon } ?? []
        if times.isEmpty && events[key] == nil && events.count >= maximumKeys { evict(now: now, from: &events) }
        times.append(now)
        if times.count > limit { times.removeFirst(times.count - limit) }
        events[key] = times
    }

    /// Drops every key whose window has passed, then, if still full, the least recently active tenth. Runs only
    /// when a new key arrives at the cap, so its O(n log n) cost is spread over a tenth of the cap's insertions.
    private func evict(now: Date, from events: inout [Key: [Date]]) {
        let horizon = now.addingTimeInterval(-window)
        events = events.filter { ($0.value.last ?? .distantPast) > horizon }
        guard events.count >= maximumKeys else { return }
        let stalest = events.sorted { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) }
            .prefix(max(1, maximumKeys / 10))
        for (key, _) in stalest { events.removeValue(forKey: key) }
    }
}
