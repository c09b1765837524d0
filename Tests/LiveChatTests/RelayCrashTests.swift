import Foundation
import TestSupport
import Testing

@Suite("The relay killed mid-flight", .serialized)
struct RelayCrashTests {
    @Test func everyMessageReachesWhatsAppOnceAfterTheRelayIsKilledAndRestarted() async throws {
        try await MostradorSystem.with(environment: ["MOSTRADOR_SEND_WAIT_SECONDS": "0.2"]) { system in
            let total = 200
            var ticketIDs: [Int] = []
            for index in 0..<10 {
                ticketIDs.append(
                    try await system.receive([
                        "remitente": "52155500100\(String(format: "%02d", index))", "contenido": "hola",
                    ]))
            }
            // Slow the bridge a little so that messages are in flight when the relay dies; like the seed's bridge it
            // has no idempotency key, so every repeat reaches WhatsApp and is counted.
            system.bridge.mode = .slow(.milliseconds(20))
            system.bridge.honoursIdempotencyKey = false
            let ids = ticketIDs
            let sending = Task {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<total {
                        group.addTask {
                            try await system.post(
                                "/ticket/\(ids[index % ids.count])/enviar-mensaje", json: ["mensaje": "m\(index)"]
                            ).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
            }
            #expect(await eventually(timeout: .seconds(30)) { system.bridge.delivered.count >= 40 })
            system.relay?.signal(SIGKILL)
            _ = await system.relay?.waitForExit()
            let deliveredAtKill = system.bridge.delivered.count
            try await system.startRelayProcess()
            let statuses = try await sending.value
            #expect(statuses.allSatisfy { [200, 504].contains($0) })

            #expect(await eventually(timeout: .seconds(60)) { Set(system.bridge.deliveredTexts).count >= total })
            try await Task.sleep(for: .seconds(1))
            let texts = system.bridge.deliveredTexts
            #expect(Set(texts) == Set((0..<total).map { "m\($0)" }), "every message reached WhatsApp")
            // A repeat is allowed only for a message in flight at the instant of the kill: at most one per lane.
            let duplicates = texts.count - Set(texts).count
            #expect(duplicates <= 16, "\(duplicates) duplicates for at most 16 messages in flight")
            print("relay crash: \(deliveredAtKill) delivered before SIGKILL, \(duplicates) sent twice (in flight)")
        }
    }
}
