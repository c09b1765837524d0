import Foundation
import MostradorContracts
import Synchronization
import Testing

@testable import MostradorAPI

/// `enviar-mensaje` waits for the relay's report: a report must wake the request whenever it lands, even between
/// the request's read of the status and its wait (where one used to be lost, leaving the request to its re-read).
@Suite struct DeliveryOutcomeWaiterTests {
    /// Runs `body`, failing instead of hanging if it is still waiting after a minute (the re-read interval in
    /// these tests is an hour: only a notification can end the wait).
    func finishes(_ body: @escaping @Sendable () async -> DeliveryStatus?) async -> DeliveryStatus?? {
        await withTaskGroup(of: DeliveryStatus??.self) { group in
            group.addTask { .some(await body()) }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test func aReportBetweenTheReadAndTheWaitWakesTheRequest() async {
        let waiter = DeliveryOutcomeWaiter()
        let reads = CallCounter()
        let status = await finishes {
            await waiter.outcome(messageID: 7, timeout: .seconds(3600), poll: .seconds(3600)) {
                // The report is stored right after the first read, before the request waits.
                if reads.next() == 1 {
                    waiter.notify(messageID: 7)
                    return .queued
                }
                return .sent
            }
        }
        #expect(status == .some(.sent), "the request missed the report")
        #expect(reads.value == 2)
        #expect(waiter.registered == 0)
    }

    @Test func aReportWhileWaitingWakesEveryRequestForThatMessageOnly() async throws {
        let waiter = DeliveryOutcomeWaiter()
        let stored = CallCounter()
        async let first = finishes {
            await waiter.outcome(messageID: 1, timeout: .seconds(3600), poll: .seconds(3600)) {
                stored.value > 0 ? .sent : .queued
            }
        }
        async let second = finishes {
            await waiter.outcome(messageID: 1, timeout: .seconds(3600), poll: .seconds(3600)) {
                stored.value > 0 ? .sent : .queued
            }
        }
        // Another message's report wakes nobody here; then the message's own report wakes both.
        while waiter.registered < 2 { try await Task.sleep(for: .milliseconds(5)) }
        waiter.notify(messageID: 2)
        _ = stored.next()
        waiter.notify(messageID: 1)
        #expect(await first == .some(.sent))
        #expect(await second == .some(.sent))
        #expect(waiter.registered == 0)
    }

    @Test func withoutAReportTheRequestGivesUpAtItsTimeoutWithTheLastStatus() async {
        let waiter = DeliveryOutcomeWaiter()
        let status = await waiter.outcome(messageID: 3, timeout: .milliseconds(50), poll: .milliseconds(10)) {
            .queued
        }
        #expect(status == .queued)
        #expect(waiter.registered == 0)
    }
}

/// A thread-safe counter for the closures above.
private final class CallCounter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func next() -> Int {
        count.withLock {
            $0 += 1; return $0
        }
    }
}
