import Foundation

/// Login attempts allowed per username (case-insensitive) and per client (`ClientAddress.rateLimitKey`) within a
/// sliding window; beyond either, login answers 429 without checking the password, the right one included.
///
/// An attempt is counted when it is admitted (so concurrent guesses cannot overshoot the limit); a success takes
/// the client's attempt back and forgets the username's, and an attempt the server did not decide (bcrypt pool
/// full, an error) takes both back. Refused attempts are not counted, so hammering a locked username does not
/// extend its lock: it ends at most one window after the last counted failure.
struct LoginThrottle: Sendable {
    let perUser: RateLimiter<String>
    let perClient: RateLimiter<String>

    init(failuresPerUser: Int, failuresPerClient: Int, window: TimeInterval, clock: WallClock = .system) {
        perUser = RateLimiter(limit: failuresPerUser, window: window, clock: clock)
        perClient = RateLimiter(limit: failuresPerClient, window: window, clock: clock)
    }

    /// Counts an attempt; nil when it may go ahead, otherwise the seconds until it may.
    func admit(username: String, client: String) -> Int? {
        let user = Self.key(username)
        if let wait = perUser.acquire(user).retryAfter { return wait }
        if let wait = perClient.acquire(client).retryAfter {
            perUser.refund(user)
            return wait
        }
        return nil
    }

    /// The password was right.
    func succeeded(username: String, client: String) {
        perUser.reset(Self.key(username))
        perClient.refund(client)
    }

    /// The attempt was not decided (the bcrypt pool was full, or an error): it does not count.
    func undecided(username: String, client: String) {
        perUser.refund(Self.key(username))
        perClient.refund(client)
    }

    /// Usernames are limited case-insensitively, and a very long one is cut so the limiter's keys stay small.
    static func key(_ username: String) -> String { String(username.lowercased().prefix(128)) }
}
