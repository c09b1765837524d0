import MostradorServiceKit
import Synchronization
import TestSupport
import Testing

/// `Wakeup` wakes every task waiting on it (review C3: a second waiter used to replace the first, which then
/// waited forever).
@Suite struct WakeupTests {
    final class Count: Sendable {
        let value = Mutex(0)
    }

    @Test func aSignalWakesEveryWaiter() async {
        let wakeup = Wakeup()
        let woken = Count()
        for _ in 0..<3 {
            Task {
                await wakeup.wait(timeout: .seconds(120))
                woken.value.withLock { $0 += 1 }
            }
        }
        #expect(await eventually { wakeup.waiterCount == 3 })
        wakeup.signal()
        // Far sooner than the two-minute timeout.
        #expect(await eventually(timeout: .seconds(30)) { woken.value.withLock { $0 } == 3 })
        #expect(wakeup.waiterCount == 0)
    }

    @Test func aSignalWithNobodyWaitingIsRememberedForTheNextWait() async {
        let wakeup = Wakeup()
        wakeup.signal()
        let started = ContinuousClock.now
        await wakeup.wait(timeout: .seconds(120))
        #expect(ContinuousClock.now - started < .seconds(60))
        // Used up: the next wait runs to its timeout.
        let again = ContinuousClock.now
        await wakeup.wait(timeout: .milliseconds(200))
        #expect(ContinuousClock.now - again >= .milliseconds(200))
    }

    @Test func eachWaiterTimesOutOnItsOwn() async {
        let wakeup = Wakeup()
        let long = Task { await wakeup.wait(timeout: .seconds(120)) }
        #expect(await eventually { wakeup.waiterCount == 1 })
        await wakeup.wait(timeout: .milliseconds(50))
        // The short wait timed out; the long one still waits until a signal.
        #expect(wakeup.waiterCount == 1)
        wakeup.signal()
        await long.value
        #expect(wakeup.waiterCount == 0)
    }
}
