/// Spaces sends to at most `rate` per second (a token bucket holding one second's worth).
actor RateLimiter {
    private let interval: Duration?
    private var next = ContinuousClock.now

    init(perSecond rate: Double) {
        interval = rate > 0 ? .nanoseconds(Int64(1e9 / rate)) : nil
    }

    /// Waits for this sender's turn.
    func acquire() async {
        guard let interval else { return }
        let now = ContinuousClock.now
        // Allow a burst of up to one second's worth after a quiet period.
        next = max(next, now - .seconds(1))
        let slot = next
        next = slot + interval
        if slot > now { try? await Task.sleep(until: slot, clock: .continuous) }
    }
}
