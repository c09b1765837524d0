import Foundation
import MostradorContracts
import Synchronization

/// Wakes requests waiting for a message's delivery outcome as soon as the relay's report is stored. Waiters also
/// re-read the database at short intervals, so a report stored by another api instance is seen too.
final class DeliveryOutcomeWaiter: Sendable {
    private let waiters = Mutex<[Int64: [UUID: CheckedContinuation<Void, Never>]]>([:])

    func notify(messageID: Int64) {
        let continuations = waiters.withLock { $0.removeValue(forKey: messageID) }
        continuations?.values.forEach { $0.resume() }
    }

    /// Returns after a notification for `messageID` or after `timeout`, whichever is first.
    func wait(messageID: Int64, timeout: Duration) async {
        let token = UUID()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiters.withLock { $0[messageID, default: [:]][token] = continuation }
            Task {
                try? await Task.sleep(for: timeout)
                let continuation = self.waiters.withLock { waiters in
                    defer { if waiters[messageID]?.isEmpty == true { waiters[messageID] = nil } }
                    return waiters[messageID]?.removeValue(forKey: token)
                }
                continuation?.resume()
            }
        }
    }

    /// Polls `status` (woken early by notifications) until it is decisive or `timeout` passes.
    func outcome(messageID: Int64, timeout: Duration, status: () async throws -> DeliveryStatus?) async rethrows
        -> DeliveryStatus?
    {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = try await status()
            if let current, current.isDecisive { return current }
            let remaining = deadline - .now
            if remaining <= .zero { return current }
            await wait(messageID: messageID, timeout: min(remaining, .milliseconds(250)))
        }
    }
}
