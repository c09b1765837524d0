import Foundation
import MostradorContracts
import Synchronization

/// Wakes requests waiting for a message's delivery outcome as soon as the relay's report is stored. Waiters also
/// re-read the database at short intervals, so a report stored by another api instance is seen too.
///
/// A waiter registers before it reads the status, so a report stored between that read and the wait still wakes
/// it: registering after the read lost those wake-ups, and each lost one cost the request the whole re-read
/// interval.
final class DeliveryOutcomeWaiter: Sendable {
    private enum Slot {
        /// Registered, reading the status.
        case armed
        /// A report came while it was reading: its wait returns at once.
        case notified
        case waiting(CheckedContinuation<Void, Never>)
    }

    private let slots = Mutex<[Int64: [UUID: Slot]]>([:])

    func notify(messageID: Int64) {
        let waiting = slots.withLock { slots -> [CheckedContinuation<Void, Never>] in
            guard var registered = slots[messageID] else { return [] }
            var waiting: [CheckedContinuation<Void, Never>] = []
            for (token, slot) in registered {
                switch slot {
                case .armed: registered[token] = .notified
                case .notified: break
                case .waiting(let continuation):
                    waiting.append(continuation)
                    registered[token] = nil
                }
            }
            slots[messageID] = registered.isEmpty ? nil : registered
            return waiting
        }
        waiting.forEach { $0.resume() }
    }

    /// Registers interest in `messageID`'s reports; `wait(messageID:token:timeout:)` then returns at once if one
    /// came since.
    func arm(messageID: Int64) -> UUID {
        let token = UUID()
        slots.withLock { $0[messageID, default: [:]][token] = .armed }
        return token
    }

    /// Returns after a notification for `messageID` since `arm` or after `timeout`, whichever is first.
    func wait(messageID: Int64, token: UUID, timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let notified = slots.withLock { slots -> Bool in
                if case .notified = slots[messageID]?[token] {
                    remove(token, of: messageID, from: &slots)
                    return true
                }
                slots[messageID, default: [:]][token] = .waiting(continuation)
                return false
            }
            if notified { return continuation.resume() }
            Task {
                try? await Task.sleep(for: timeout)
                let continuation = self.slots.withLock { slots -> CheckedContinuation<Void, Never>? in
                    guard case .waiting(let continuation) = slots[messageID]?[token] else { return nil }
                    remove(token, of: messageID, from: &slots)
                    return continuation
                }
                continuation?.resume()
            }
        }
    }

    /// Polls `status` every `poll` (woken early by notifications) until it is decisive or `timeout` passes.
    func outcome(
        messageID: Int64, timeout: Duration, poll: Duration = .milliseconds(250),
        status: () async throws -> DeliveryStatus?
    ) async rethrows -> DeliveryStatus? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let token = arm(messageID: messageID)
            let current: DeliveryStatus?
            do {
                current = try await status()
            } catch {
                slots.withLock { remove(token, of: messageID, from: &$0) }
                throw error
            }
            let remaining = deadline - .now
            if current?.isDecisive == true || remaining <= .zero {
                slots.withLock { remove(token, of: messageID, from: &$0) }
                return current
            }
            await wait(messageID: messageID, token: token, timeout: min(remaining, poll))
        }
    }

    /// How many requests are registered (for tests: none may be left behind).
    var registered: Int { slots.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    private func remove(_ token: UUID, of messageID: Int64, from slots: inout [Int64: [UUID: Slot]]) {
        slots[messageID]?[token] = nil
        if slots[messageID]?.isEmpty == true { slots[messageID] = nil }
    }
}
