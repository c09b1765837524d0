import Foundation

/// How fast web visitors may write, whichever way a message arrives (REST, `sync`, the WebSocket): per guest (their
/// ticket) a minute's allowance with a smaller burst allowance over ten seconds, and per client address (the
/// request's `ClientAddress.rateLimitKey`) a minute's allowance shared by every chat from it. Agents are not limited.
struct MessageRateLimits: Sendable {
    let guestPerMinute: RateLimiter<String>
    let guestBurst: RateLimiter<String>
    let perAddress: RateLimiter<String>

    init(
        guestPerMinute: Int = 20, guestBurst: Int = 8, addressPerMinute: Int = 60, clock: WallClock
    ) {
        self.guestPerMinute = RateLimiter(limit: guestPerMinute, window: 60, clock: clock)
        self.guestBurst = RateLimiter(limit: guestBurst, window: 10, clock: clock)
        perAddress = RateLimiter(limit: addressPerMinute, window: 60, clock: clock)
    }

    init(_ settings: APISettings, clock: WallClock) {
        self.init(
            guestPerMinute: settings.guestMessagesPerMinute, guestBurst: settings.guestMessageBurst,
            addressPerMinute: settings.addressMessagesPerMinute, clock: clock)
    }

    private func limiters(for caller: Caller, address: String?) -> [(RateLimiter<String>, String)] {
        guard case .guest(let ticketID) = caller else { return [] }
        let guest = "ticket:\(ticketID)"
        return [(guestBurst, guest), (guestPerMinute, guest)] + (address.map { [(perAddress, $0)] } ?? [])
    }

    /// Counts one message of `caller` (sent from `address`), or throws `ConversationProblem.tooManyMessages` with
    /// the seconds to wait; a refused message counts nowhere.
    func admit(_ caller: Caller, address: String?) throws {
        var taken: [(RateLimiter<String>, String)] = []
        for (limiter, key) in limiters(for: caller, address: address) {
            if case .limited(let seconds) = limiter.acquire(key) {
                for (limiter, key) in taken { limiter.refund(key) }
                throw ConversationProblem.tooManyMessages(retryAfter: seconds)
            }
            taken.append((limiter, key))
        }
    }

    /// The seconds `caller` must wait before writing again, counting nothing; nil when they may write now.
    func wait(for caller: Caller, address: String?) -> Int? {
        limiters(for: caller, address: address).compactMap { $0.0.check($0.1).retryAfter }.max()
    }
}
