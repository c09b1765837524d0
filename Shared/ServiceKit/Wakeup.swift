import Synchronization

/// Wakes one waiting loop early. A signal sent while nobody waits is remembered, so a loop that checks for work,
/// finds none and then waits never misses work that arrived in between.
public final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { state in
            guard let waiter = state.waiter else {
                state.signalled = true
                return nil as CheckedContinuation<Void, Never>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns on the next signal (at once if one is pending) or after `timeout`.
    public func wait(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let generation: Int? = state.withLock { state in
                if state.signalled {
                    state.signalled = false
                    return nil
                }
                state.generation += 1
                state.waiter = continuation
                return state.generation
            }
            guard let generation else { return continuation.resume() }
            Task {
                try? await Task.sleep(for: timeout)
                let waiter = self.state.withLock { state in
                    guard state.generation == generation, let waiter = state.waiter else {
                        return nil as CheckedContinuation<Void, Never>?
                    }
                    state.waiter = nil
                    return waiter
                }
                waiter?.resume()
            }
        }
    }
}
