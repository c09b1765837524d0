import Foundation
import GRDB
import Logging
import MostradorContracts
import Testing

@testable import MostradorBridgeRelay

/// The relay ledger's retention, against a real ledger file in a temporary folder.
@Suite("Relay ledger retention")
struct LedgerRetentionTests {
    @Test func finishedEntriesLoseTheirTextThenGoWhileParkedOnesAreKept() async throws {
        let directory = NSTemporaryDirectory() + "mostrador-ledger-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = try DeliveryLedger.open(dataDirectory: directory, logger: Logger(label: "ledger-test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ledger.committer.run() }
            defer { group.cancelAll() }
            func command(_ n: Int64) -> RelaySend {
                RelaySend(ticketID: 1, messageID: n, recipient: "5215550001111", text: "texto privado \(n)")
            }
            try await ledger.record("sent", command: command(1), status: .sent, attempts: 1, providerID: "P1")
            try await ledger.record("failed", command: command(2), status: .failed, attempts: 8)
            try await ledger.record("parked", command: command(3), status: .parked, attempts: 1)
            try await ledger.record("recent", command: command(4), status: .sent, attempts: 1)
            for id in ["sent", "failed", "recent"] { try await ledger.markReported(id) }
            // A final status the api has not heard of yet is kept until it is reported.
            try await ledger.record("unreported", command: command(5), status: .sent, attempts: 1)
            // Entries are stamped with the real time: the sweep's clock is moved instead.
            let now = Date()
            try await ledger.reader.write { db in
                try db.execute(
                    sql: "UPDATE deliveries SET updated_at = ? WHERE message_id != 'recent'",
                    arguments: [now.addingTimeInterval(-91 * 86_400)])
            }
            let first = try await ledger.applyRetention(days: 90, now: now)
            #expect(first == .init(blanked: 3, deleted: 0))
            let sent = try #require(try await ledger.entry("sent"))
            #expect(sent.status == .sent)
            #expect(sent.providerID == "P1")
            #expect(sent.command.text.isEmpty)
            #expect(sent.command.recipient.isEmpty)
            #expect(try await ledger.entry("failed")?.command.text.isEmpty == true)
            #expect(try await ledger.entry("parked")?.command.text == "texto privado 3")
            #expect(try await ledger.entry("recent")?.command.text == "texto privado 4")
            #expect(try await ledger.ready(limit: 10).map(\.messageID) == ["parked"])
            // A second sweep finds nothing new; 0 days changes nothing.
            #expect(try await ledger.applyRetention(days: 90, now: now) == .init())
            #expect(try await ledger.applyRetention(days: 0, now: now.addingTimeInterval(1e9)) == .init())

            // Twice the retention later, finished entries are gone; the parked one still waits.
            let later = now.addingTimeInterval(91 * 86_400)
            let second = try await ledger.applyRetention(days: 90, now: later)
            #expect(second.deleted == 2)
            #expect(try await ledger.entry("sent") == nil)
            #expect(try await ledger.entry("unreported")?.status == .sent)
            #expect(try await ledger.entry("parked")?.status == .parked)
            #expect(try await ledger.entry("recent")?.command.text.isEmpty == true)
        }
    }

    /// A parked file waits with its bytes (a restart still has them to send); once sent they are dropped, the
    /// rest of the entry stays.
    @Test func aParkedFileKeepsItsBytesUntilItIsSent() async throws {
        let directory = NSTemporaryDirectory() + "mostrador-ledger-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = RelayAttachment(mime: "application/pdf", filename: "presupuesto.pdf", data: Data("%PDF-1.4 x".utf8))
        let command = RelaySend(
            ticketID: 7, messageID: 70, recipient: "5215550001111", text: "El presupuesto", channel: "waha",
            attachment: file, replyTo: "false_5215550001111@c.us_AAAA",
            template: RelayTemplate(name: "presupuesto_listo", language: "es_MX", parameters: ["Ana"]))
        do {
            let ledger = try DeliveryLedger.open(dataDirectory: directory, logger: Logger(label: "ledger-test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await ledger.committer.run() }
                defer { group.cancelAll() }
                try await ledger.record("m-70", command: command, status: .parked, attempts: 1, reason: "caído")
            }
        }
        let reopened = try DeliveryLedger.open(dataDirectory: directory, logger: Logger(label: "ledger-test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reopened.committer.run() }
            defer { group.cancelAll() }
            let parked = try #require(try await reopened.ready(limit: 10).first)
            #expect(parked.command == command)
            try await reopened.record("m-70", command: command, status: .sent, attempts: 2, providerID: "P")
            let sent = try #require(try await reopened.entry("m-70"))
            #expect(sent.command.attachment == nil)
            #expect(sent.command.replyTo == command.replyTo)
            #expect(sent.command.template == command.template)
            #expect(sent.command.text == "El presupuesto")
        }
    }

    @Test func retryAfterIsClampedAndNeverTraps() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(RetryAfter.parse("5", now: now) == .seconds(5))
        #expect(RetryAfter.parse("1e300", now: now) == .seconds(300))
        #expect(RetryAfter.parse("1e20", now: now) == .seconds(300))
        #expect(RetryAfter.parse("inf", now: now) == nil)
        #expect(RetryAfter.parse("-inf", now: now) == nil)
        #expect(RetryAfter.parse("-5", now: now) == .seconds(1))
        #expect(RetryAfter.parse("-1e300", now: now) == .seconds(1))
        #expect(RetryAfter.parse("0.2", now: now) == .seconds(1))
        #expect(RetryAfter.parse("nan", now: now) == nil)
        #expect(RetryAfter.parse("garbage", now: now) == nil)
        #expect(RetryAfter.parse("Tue, 14 Nov 2023 22:13:20 GMT", now: now) == .seconds(1))
        #expect(RetryAfter.parse("Tue, 14 Nov 2023 22:14:20 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Mon, 01 Jan 1990 00:00:00 GMT", now: now) == .seconds(1))
    }
}
