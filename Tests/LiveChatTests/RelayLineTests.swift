import AMQPClient
import Foundation
import GRDB
import Logging
import MostradorContracts
import MostradorMessaging
import MostradorServiceKit
import MostradorStorage
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import MostradorAPI
@testable import MostradorBridgeRelay

/// The relay's lines, retries and reports against a real ledger file, a scripted channel and a recording reporter:
/// what a killed relay leaves behind is finished by the next one, a retried message is never overtaken, a retry is
/// never forked, and the api always hears the final word.
@Suite("Relay lines, retries and reports")
struct RelayLineTests {
    @Test func messagesCaughtMidResendByAKillAreResentWithTheSameKeyInOrderAndUnwedgeTheCustomer() async throws {
        try await RelayRig.with { rig in
            // What a relay killed while resending its parked messages leaves: the first one marked `sending`, the
            // second still parked behind it (the broker was acked long ago: nothing will redeliver them).
            try await rig.ledger.record("m1", command: rig.command(1), status: .parked, attempts: 1)
            try await rig.ledger.record("m2", command: rig.command(2), status: .parked, attempts: 1)
            try await rig.ledger.record("m1", command: rig.command(1), status: .sending, attempts: 2)
            // The customer is wedged for as long as those stay: a new message queues behind them.
            #expect(try await rig.relay.handle(rig.command(3), messageID: "m3", attempt: 0) == .ack)
            #expect(rig.channel.sentKeys.isEmpty)

            try await rig.monitor.check()
            #expect(rig.channel.sentKeys == ["m1", "m2", "m3"])
            for id in ["m1", "m2", "m3"] {
                #expect(try await rig.ledger.entry(id)?.status == .sent)
            }
            #expect(rig.reports.statuses(of: 1).last == .sent)
            #expect(try await rig.ledger.waitingCount() == 0)
            // The line is clear: the next message goes straight out.
            #expect(try await rig.relay.handle(rig.command(4), messageID: "m4", attempt: 0) == .ack)
            #expect(rig.channel.sentKeys.last == "m4")
        }
    }

    @Test func aRetriedMessageIsNeverOvertakenByALaterOneToTheSameCustomer() async throws {
        try await RelayRig.with { rig in
            rig.channel.script(["m1": [.transient(reason: "HTTP 500", retryAfter: nil)]])
            guard case .retry = try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0) else {
                Issue.record("a 500 must be retried")
                return
            }
            #expect(rig.reports.statuses(of: 1) == [.retrying])
            // A later message to the same customer waits behind the retry, quietly (the bridge is fine).
            #expect(try await rig.relay.handle(rig.command(2), messageID: "m2", attempt: 0) == .ack)
            #expect(try await rig.ledger.entry("m2")?.status == .parked)
            #expect(rig.reports.statuses(of: 2).isEmpty)
            // Another customer is not held up.
            #expect(
                try await rig.relay.handle(rig.command(3, to: "5215550009999"), messageID: "m3", attempt: 0) == .ack)
            // The monitor does not let m2 go while m1 waits for its retry.
            try await rig.monitor.check()
            #expect(rig.channel.sentKeys == ["m1", "m3"])

            // The retry copy comes back from the delay queue (attempt 1) and goes out; then m2 follows.
            #expect(try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 1) == .ack)
            try await rig.monitor.check()
            #expect(rig.channel.sentKeys == ["m1", "m3", "m1", "m2"])
            #expect(rig.reports.statuses(of: 1) == [.retrying, .sent])
            #expect(rig.reports.statuses(of: 2) == [.sent])
        }
    }

    @Test func aRedeliveredOriginalOfAScheduledRetryIsNotForkedButAKilledProcessesOneIsSent() async throws {
        try await RelayRig.with { rig in
            rig.channel.script(["m1": [.transient(reason: "timeout", retryAfter: nil)]])
            _ = try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0)
            // The connection died before the original's ack: the broker hands the original out again while its
            // retry copy (republished by the connection) waits in the delay queue.
            #expect(try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0) == .ack)
            #expect(rig.channel.sentKeys == ["m1"])

            // A relay started after a kill cannot know whether the copy reached the broker: it sends the original.
            let restarted = rig.restartedRelay()
            #expect(try await restarted.handle(rig.command(1), messageID: "m1", attempt: 0) == .ack)
            #expect(rig.channel.sentKeys == ["m1", "m1"])
            // And the copy, arriving later, is not sent again.
            #expect(try await restarted.handle(rig.command(1), messageID: "m1", attempt: 1) == .ack)
            #expect(rig.channel.sentKeys == ["m1", "m1"])
        }
    }

    @Test func aFinalStatusWhoseReportWasLostIsPublishedAgain() async throws {
        try await RelayRig.with { rig in
            rig.reports.failNext(1)
            await #expect(throws: (any Error).self) {
                _ = try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0)
            }
            #expect(rig.channel.sentKeys == ["m1"])
            #expect(try await rig.ledger.entry("m1")?.reported == false)
            // Left by a process that died: the next relay's monitor reports it at once.
            let restarted = rig.restartedRelay()
            try await BridgeMonitor(relay: restarted, logger: rig.logger).check()
            #expect(rig.reports.statuses(of: 1) == [.sent])
            #expect(try await rig.ledger.entry("m1")?.reported == true)
            // A redelivery of the command says it again without sending twice.
            #expect(try await restarted.handle(rig.command(1), messageID: "m1", attempt: 0) == .ack)
            #expect(rig.channel.sentKeys == ["m1"])
            #expect(rig.reports.statuses(of: 1) == [.sent, .sent])
        }
    }

    @Test func customersLinesDrainSideBySideEachInItsOrder() async throws {
        try await RelayRig.with { rig in
            let customers = (1...4).map { "521555000000\($0)" }
            for n in 1...40 {
                try await rig.ledger.record(
                    "m\(n)", command: rig.command(Int64(n), to: customers[n % 4]), status: .parked, attempts: 1)
            }
            rig.channel.delay = .milliseconds(5)
            try await rig.monitor.resendWaiting()
            let sent = rig.channel.sentKeys.map { Int($0.dropFirst())! }
            #expect(sent.sorted() == Array(1...40), "every waiting message sent once")
            for customer in 0..<4 {
                let line = sent.filter { $0 % 4 == customer }
                #expect(line == line.sorted(), "customer \(customer)'s messages in their order")
            }
            #expect(rig.channel.mostInFlight > 1, "several customers' lines at once")
            for n in 1...40 { #expect(try await rig.ledger.entry("m\(n)")?.status == .sent) }
        }
    }

    /// Lines drain in waves (the next message of every line, recorded and reported together): a channel that goes
    /// down in the middle of a wave stops every line at the message it holds, and what went out is recorded,
    /// reported once and marked reported.
    @Test func aChannelThatFailsMidWaveStopsEveryLineInPlaceAndWhatWentOutIsReportedOnce() async throws {
        try await RelayRig.with { rig in
            let customers = (1...3).map { "521555000010\($0)" }
            // Three customers, three messages each, parked in turn: m1 m2 m3 are the heads of the lines.
            for n in 1...9 {
                try await rig.ledger.record(
                    "m\(n)", command: rig.command(Int64(n), to: customers[(n - 1) % 3]), status: .parked, attempts: 1)
            }
            // The bridge drops customer 2's second message (m5), in the second wave.
            rig.channel.script(["m5": [.channelDown(reason: "bridge gone")]])
            let failed = try await rig.monitor.resendWaiting()
            #expect(failed == [.seedBridge])
            #expect(rig.relay.isDown(.seedBridge))
            let sent = Set(rig.channel.sentKeys)
            #expect(Set(["m1", "m2", "m3", "m5"]).isSubset(of: sent))
            #expect(!sent.contains("m8"), "nothing of customer 2 after the message that failed")
            #expect(rig.channel.sentKeys.count == Set(rig.channel.sentKeys).count, "no message tried twice")
            for key in sent where key != "m5" {
                let n = Int64(key.dropFirst())!
                #expect(try await rig.ledger.entry(key)?.status == .sent)
                #expect(try await rig.ledger.entry(key)?.reported == true)
                #expect(rig.reports.statuses(of: n) == [.sent], "\(key) reported once")
            }
            // m5 is parked again in its place, with its attempt counted; m8 waits behind it.
            let m5 = try #require(try await rig.ledger.entry("m5"))
            #expect(m5.status == .parked && m5.attempts == 2 && m5.reason == "bridge gone")
            #expect(try await rig.ledger.entry("m8")?.status == .parked)
            #expect(rig.reports.statuses(of: 5).isEmpty && rig.reports.statuses(of: 8).isEmpty)

            // The bridge is back: the rest goes out, customer 2's in order.
            let before = rig.channel.sentKeys.count
            try await rig.monitor.resendWaiting()
            let rest = Array(rig.channel.sentKeys.dropFirst(before))
            #expect(Set(rig.channel.sentKeys) == Set((1...9).map { "m\($0)" }))
            #expect(rest.filter { sent.contains($0) } == ["m5"], "only m5 is tried again")
            #expect(rest.firstIndex(of: "m5")! < rest.firstIndex(of: "m8")!)
            #expect(try await rig.ledger.waitingCount() == 0)
            for n in 1...9 { #expect(try await rig.ledger.entry("m\(n)")?.reported == true) }
        }
    }

    /// A backlog of parked messages must not make each line query read the whole ledger: the plans walk the
    /// pending messages by index, and a new place in line is the line-order index's last entry.
    @Test func lineQueriesUseTheirIndexes() async throws {
        try await RelayRig.with { rig in
            for n in 1...50 {
                try await rig.ledger.record(
                    "m\(n)", command: rig.command(Int64(n), to: "52155500000\(n % 7)"),
                    status: n % 2 == 0 ? .sent : .parked, attempts: 1)
            }
            func plan(_ sql: String, _ arguments: StatementArguments = []) async throws -> [String] {
                try await rig.ledger.reader.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] }
                }
            }
            for channels in [0, 1, 2] {
                let steps = try await plan(
                    DeliveryLedger.readySQL(channels: channels),
                    StatementArguments(Array(repeating: "seed", count: channels * 2)) + [100])
                #expect(steps.contains { $0.contains("SCAN d USING INDEX deliveries_line") }, "\(steps)")
                #expect(steps.contains { $0.contains("SEARCH head USING INDEX deliveries_recipient_line") }, "\(steps)")
                #expect(!steps.contains { $0.contains("TEMP B-TREE") }, "\(steps)")
            }
            let place = try await plan("SELECT COALESCE(MAX(line_order), 0) + 1 FROM deliveries")
            #expect(place.contains { $0.contains("deliveries_line_order") }, "\(place)")
        }
    }

    @Test func shutdownStopsTheResendAfterTheMessageInHand() async throws {
        try await RelayRig.with { rig in
            for n in 1...5 {
                try await rig.ledger.record("m\(n)", command: rig.command(Int64(n)), status: .parked, attempts: 1)
            }
            try await testGracefulShutdown { trigger in
                rig.channel.onSend = { key in if key == "m2" { trigger.triggerGracefulShutdown() } }
                try await rig.monitor.resendWaiting()
            }
            #expect(rig.channel.sentKeys == ["m1", "m2"])
            #expect(try await rig.ledger.entry("m3")?.status == .parked)
        }
    }
}

/// A relay over a real ledger in a temporary folder, with a scripted channel and a recording reporter.
struct RelayRig {
    let ledger: DeliveryLedger
    let channel = ScriptedChannel()
    let reports = RecordingReports()
    let relay: Relay
    let monitor: BridgeMonitor
    let logger = Logger(label: "relay-test")

    static func with(_ body: (RelayRig) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "mostrador-relay-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = try DeliveryLedger.open(dataDirectory: directory, logger: Logger(label: "ledger-test"))
        let rig = RelayRig(ledger: ledger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ledger.committer.run() }
            defer { group.cancelAll() }
            try await body(rig)
        }
    }

    init(ledger: DeliveryLedger) {
        self.ledger = ledger
        var settings = RelaySettings()
        settings.rate = 0
        relay = Relay(adapter: channel, ledger: ledger, reports: reports, settings: settings, logger: logger)
        monitor = BridgeMonitor(relay: relay, logger: logger)
    }

    /// Another relay process over the same ledger, channel and reports (as after a kill and a restart).
    func restartedRelay() -> Relay {
        Relay(adapter: channel, ledger: ledger, reports: reports, settings: relay.settings, logger: logger)
    }

    func command(_ message: Int64, to recipient: String = "5215550001111") -> RelaySend {
        RelaySend(ticketID: 7, messageID: message, recipient: recipient, text: "mensaje \(message)")
    }
}

/// A channel that answers from a script per idempotency key (then `sent`), and records every attempt.
final class ScriptedChannel: ChannelAdapter {
    private struct State {
        var script: [String: [SendOutcome]] = [:]
        var sent: [String] = []
        var onSend: (@Sendable (String) -> Void)?
        var health: Bool? = true
        var delay: Duration?
        var inFlight = 0
        var mostInFlight = 0
    }

    let name = "scripted"
    private let state = Mutex(State())

    func script(_ outcomes: [String: [SendOutcome]]) { state.withLock { $0.script = outcomes } }

    var onSend: (@Sendable (String) -> Void)? {
        get { state.withLock { $0.onSend } }
        set { state.withLock { $0.onSend = newValue } }
    }

    /// Every attempt's idempotency key, in order.
    var sentKeys: [String] { state.withLock { $0.sent } }

    /// How long each send takes (none: at once).
    var delay: Duration? {
        get { state.withLock { $0.delay } }
        set { state.withLock { $0.delay = newValue } }
    }

    /// The most sends that were in progress at the same time.
    var mostInFlight: Int { state.withLock { $0.mostInFlight } }

    func send(_ message: OutboundMessage) async -> SendOutcome {
        let (outcome, hook, delay) = state.withLock { state in
            state.sent.append(message.idempotencyKey)
            state.inFlight += 1
            state.mostInFlight = max(state.mostInFlight, state.inFlight)
            let next = state.script[message.idempotencyKey]?.first
            if next != nil { state.script[message.idempotencyKey]?.removeFirst() }
            return (next ?? .sent(providerID: "P-\(message.idempotencyKey)"), state.onSend, state.delay)
        }
        if let delay { try? await Task.sleep(for: delay) }
        state.withLock { $0.inFlight -= 1 }
        hook?(message.idempotencyKey)
        return outcome
    }

    /// What `probe` answers (true: up).
    var health: Bool? {
        get { state.withLock { $0.health } }
        set { state.withLock { $0.health = newValue } }
    }

    func probe() async -> Bool? { health }
}

/// Records every report by the api's message id; can be told to fail the next few (a broker nack).
final class RecordingReports: DeliveryReports {
    struct Refused: Error {}
    private struct State {
        var reports: [DeliveryUpdated] = []
        var failures = 0
    }

    private let state = Mutex(State())

    func failNext(_ count: Int) { state.withLock { $0.failures = count } }

    func statuses(of message: Int64) -> [DeliveryStatus] {
        state.withLock { $0.reports.filter { $0.messageID == message }.map(\.status) }
    }

    func publishReport(_ report: DeliveryUpdated) async throws {
        try state.withLock { state in
            if state.failures > 0 {
                state.failures -= 1
                throw Refused()
            }
            state.reports.append(report)
        }
    }
}

@Suite("Relay settings and ledger durability")
struct RelaySettingsTests {
    func settings(_ environment: [String: String]) throws -> RelaySettings {
        try RelaySettings(
            ServiceConfiguration(
                service: "bridge-relay", amqp: try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:5672/%2F"),
                environment: environment))
    }

    @Test(arguments: [
        "MOSTRADOR_BRIDGE_TIMEOUT_SECONDS", "MOSTRADOR_BRIDGE_PROBE_SECONDS", "MOSTRADOR_RELAY_RATE",
    ])
    func hostileNumbersAreRefusedWithTheirNameNeverTrapped(_ name: String) {
        for value in ["inf", "-inf", "nan", "1e20", "-5", "1e-20"] {
            #expect(throws: (any Error).self, "\(name)=\(value)") { try settings([name: value]) }
        }
    }

    @Test func theLedgerSurvivesPowerLossUnlessToldOtherwise() async throws {
        #expect(try settings([:]).durability == .full)
        #expect(try settings(["MOSTRADOR_DB_DURABILITY": "normal"]).durability == .normal)
        #expect(throws: (any Error).self) { try settings(["MOSTRADOR_DB_DURABILITY": "yolo"]) }
        for (durability, expected) in [(DatabaseFactory.Durability.full, 2), (.normal, 1)] {
            let directory = NSTemporaryDirectory() + "mostrador-ledger-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let ledger = try DeliveryLedger.open(
                dataDirectory: directory, durability: durability, logger: Logger(label: "ledger-test"))
            let synchronous = try await ledger.reader.write { db in
                try Int.fetchOne(db, sql: "PRAGMA synchronous")
            }
            #expect(synchronous == expected)
            // The api's database is opened the same way (GRDB turned both to NORMAL behind our back once).
            let api = try await APIDatabase.open(
                dataDirectory: directory + "/api", durability: durability, logger: Logger(label: "api-test"))
            #expect(try await api.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == expected)
        }
    }
}

@Suite("Relay dead letters")
struct RelayDeadLetterTests {
    @Test func aDeadLetteredCommandShowsFailedWithItsReasonAndFreesTheLine() async throws {
        try await RelayRig.with { rig in
            rig.channel.script(["m1": [.transient(reason: "HTTP 500", retryAfter: nil)]])
            _ = try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0)
            _ = try await rig.relay.handle(rig.command(2), messageID: "m2", attempt: 0)
            #expect(try await rig.ledger.entry("m2")?.status == .parked)
            // Its retries kept failing in the handler (the ledger was locked): the consumer dead-letters it.
            try await rig.relay.deadLettered(rig.command(1), messageID: "m1", reason: "database is locked")
            #expect(rig.reports.statuses(of: 1) == [.retrying, .failed])
            let entry = try #require(try await rig.ledger.entry("m1"))
            #expect(entry.status == .failed)
            #expect(entry.reason?.contains("database is locked") == true)
            #expect(entry.reported)
            // The message behind it goes out.
            try await rig.monitor.check()
            #expect(rig.channel.sentKeys == ["m1", "m2"])
            // A sent message dead-lettered later (its ack was lost) keeps its `sent`.
            _ = try await rig.relay.handle(rig.command(3), messageID: "m3", attempt: 0)
            try await rig.relay.deadLettered(rig.command(3), messageID: "m3", reason: "x")
            #expect(try await rig.ledger.entry("m3")?.status == .sent)
            #expect(rig.reports.statuses(of: 3) == [.sent])
        }
    }
}

extension RelayDeadLetterTests {
    @Test func aFailedMessageReDrivenByAnOperatorIsTriedAgainButARedeliveryIsNot() async throws {
        try await RelayRig.with { rig in
            rig.channel.script(["m1": [.rejected(reason: "número no válido")]])
            _ = try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0)
            #expect(try await rig.ledger.entry("m1")?.status == .failed)
            // A plain redelivery is answered from the ledger…
            _ = try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0)
            #expect(rig.channel.sentKeys == ["m1"])
            // …a re-drive sends it again, same key.
            _ = try await rig.relay.handle(rig.command(1), messageID: "m1", attempt: 0, redriven: true)
            #expect(rig.channel.sentKeys == ["m1", "m1"])
            #expect(try await rig.ledger.entry("m1")?.status == .sent)
            #expect(rig.reports.statuses(of: 1).last == .sent)
        }
    }
}
