import Foundation
import GRDB
import TestSupport
import Testing

/// Three relays on one data folder: one sends, two stand by. The one sending is killed while the bridge is down and
/// every message is parked in the shared ledger; a standby takes over, and once the bridge is back every message
/// reaches WhatsApp once, each customer's in the order they were written.
@Suite("Relays on standby", .serialized)
struct RelayStandbyTests {
    static let active = "active: this relay sends"

    @Test func aStandbyTakesOverTheParkedMessagesOfAKilledRelayAndDeliversThemOnceInOrder() async throws {
        try await MostradorSystem.with(relay: false, environment: ["MOSTRADOR_SEND_WAIT_SECONDS": "0.2"]) { system in
            // The first relay takes the ledger; the two started after it stand by.
            try await system.startRelayProcess()
            let first = try #require(system.relay)
            #expect(await eventually(timeout: .seconds(20)) { first.output.contains(Self.active) })
            let standbys = [try await system.startAnotherRelay(), try await system.startAnotherRelay()]
            #expect(
                await eventually(timeout: .seconds(20)) {
                    standbys.allSatisfy { $0.output.contains("standing by") }
                })
            #expect(!standbys.contains { $0.output.contains(Self.active) })

            let customers = 6
            let perCustomer = 10
            var tickets: [Int] = []
            for customer in 0..<customers {
                tickets.append(
                    try await system.receive(["remitente": "5215550020\(customer)00", "contenido": "hola"]))
            }
            // Like the seed's bridge, this one keeps no idempotency keys: a message sent twice arrives twice.
            system.bridge.honoursIdempotencyKey = false
            system.bridge.mode = .down
            // Each customer's messages are written one after the other; the customers side by side.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (customer, ticket) in tickets.enumerated() {
                    group.addTask {
                        for index in 0..<perCustomer {
                            let status = try await system.post(
                                "/ticket/\(ticket)/enviar-mensaje", json: ["mensaje": "c\(customer) #\(index)"]
                            ).status
                            #expect([503, 504].contains(status), "the bridge is down: \(status)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = customers * perCustomer
            let ledger = try DatabaseQueue(
                path: "\(system.dataDirectory)/relay-ledger.sqlite",
                configuration: {
                    var c = Configuration(); c.readonly = true; return c
                }())
            func parked() async throws -> Int {
                try await ledger.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries WHERE status = 'parked'") ?? 0
                }
            }
            #expect(await eventually(timeout: .seconds(30)) { (try? await parked()) == total })
            #expect(system.bridge.deliveredTexts.isEmpty)

            // The relay that sends dies without a word; one of the others takes the ledger over.
            first.signal(SIGKILL)
            _ = await first.waitForExit()
            #expect(
                await eventually(timeout: .seconds(20)) {
                    standbys.filter { $0.output.contains(Self.active) }.count == 1
                })
            #expect(standbys.filter { $0.output.contains(Self.active) }.count == 1, "exactly one takes over")

            system.bridge.mode = .normal
            #expect(await eventually(timeout: .seconds(60)) { system.bridge.deliveredTexts.count >= total })
            try await Task.sleep(for: .seconds(1))
            let texts = system.bridge.deliveredTexts
            #expect(texts.count == total, "every message once: \(texts.count) deliveries for \(total) messages")
            #expect(Set(texts).count == total)
            for customer in 0..<customers {
                let line = texts.filter { $0.hasPrefix("c\(customer) #") }
                #expect(line == (0..<perCustomer).map { "c\(customer) #\($0)" }, "customer \(customer) in order")
            }
            #expect(try await parked() == 0)
        }
    }
}
