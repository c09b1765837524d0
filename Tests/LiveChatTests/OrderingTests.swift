import Foundation
import TestSupport
import Testing

/// Per-customer order across retries (mission row 39), through the real api, broker and relay.
@Suite("One customer's messages stay in order across retries", .serialized)
struct OrderingTests {
    @Test func aRetriedMessageIsNeverOvertakenByTheMessagesSentAfterIt() async throws {
        try await MostradorSystem.with(environment: ["MOSTRADOR_SEND_WAIT_SECONDS": "0.2"]) { system in
            let ticketID = try await system.receive(["remitente": "5215550004242", "contenido": "hola"])
            // The bridge answers 500: the first message goes to the delay queues for its retry.
            system.bridge.mode = .failing
            #expect(try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "uno"]).status == 504)
            #expect(await eventually(timeout: .seconds(20)) { system.bridge.requests.count >= 1 })
            // The bridge is fine again for the next ones — but they must wait for the first.
            system.bridge.mode = .normal
            for text in ["dos", "tres", "cuatro"] {
                let status = try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": text])
                    .status
                #expect([200, 504].contains(status))
            }
            #expect(await eventually(timeout: .seconds(60)) { system.bridge.deliveredTexts.count >= 4 })
            #expect(system.bridge.deliveredTexts == ["uno", "dos", "tres", "cuatro"])
            // And every message ends `sent` in the conversation: nothing is left at queued or retrying.
            #expect(
                await eventually(timeout: .seconds(20)) {
                    let history = (try? await system.history(ticketID)) ?? []
                    return history.filter { $0.role == "tecnico" }.map(\.estadoEntrega)
                        == Array(repeating: "sent", count: 4)
                })
        }
    }
}
