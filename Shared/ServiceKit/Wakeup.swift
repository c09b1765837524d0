import Synchronization

/// Wakes waiting loops early. A signal wakes every task waiting at that moment; a signal sent while nobody waits is
/// remembered (for the next one to wait), so a loop that checks for work, finds none and then waits never misses
/// work that arrived in between.
public final class Wakeup: Sendable {
    private struct Waiter {
        let continuation: CheckedContinuation<Void, Never>
        /// Resumes the waiter after its timeout; cancelled when a signal comes first.
        var timer: Task<Void, Never>?
    }

    private struct State {
        var signalled = false
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// How many tasks are waiting now.
    public var waiterCount: Int { state.withLock { $0.waiters.count } }

    public func signal() {
        let woken = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.signalled = true
                return [Waiter]()
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in woken {
            waiter.timer?.cancel()
            waiter.continuation.resume()
        }
    }

    /// Returns on the next signal (at once if one is pending) or after `timeout`.
    public func wait(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let id: Int? = state.withLock { state in
                if state.signalled {
                    state.signalled = false
                    return nil
                }
                state.nextID += 1
                state.waiters[state.nextID] = Waiter(continuation: continuation)
                return state.nextID
            }
            guard let id else { return continuation.resume() }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
            }
            // A signal may have taken the waiter already: then the timer is not needed.
            let registered = state.withLock { state in
                guard state.waiters[id] != nil else { return false }
                state.waiters[id]?.timer = timer
                return true
            }
            if !registered { timer.cancel() }
        }
    }
}
