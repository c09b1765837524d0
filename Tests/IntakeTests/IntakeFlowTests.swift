import Foundation
import TestSupport
import Testing

/// The intake and classification through the real services and broker (the dialogue and photos alone are
/// tested in process: `IntakeAndPhotoTests`).
@Suite("Assisted intake and classification end to end")
struct IntakeFlowTests {
    @Test func newCustomerDialogueSurvivesAnApiRestartAndTheDescriptionIsClassifiedThroughTheBroker() async throws {
        try await MostradorSystem.with(classifier: true, environment: ["MOSTRADOR_INTAKE": "on"]) { system in
            let phone = "5215551230001"
            let ticketID = try await system.receive(["remitente": phone, "contenido": "hola"])
            _ = try await system.webhook(["remitente": phone, "contenido": "Soy Mariana Ruiz"])

            // The api restarts mid-intake: the conversation carries on where it was.
            try await system.restartAPI()
            _ = try await system.webhook([
                "remitente": phone, "contenido": "se me cayo la laptop y la pantalla quedo toda rota con rayas",
            ])
            _ = try await system.webhook(["remitente": phone, "contenido": "HP Probook 440, activo INV-2231"])
            _ = try await system.webhook(["remitente": phone, "contenido": "listo"])

            let history = try await system.history(ticketID)
            let assistant = history.filter { $0.role == "assistant" }.map(\.content)
            #expect(assistant.count == 5, "\(assistant)")
            #expect(assistant.first?.contains("nombre") == true)
            #expect(assistant.last?.contains("#\(ticketID)") == true)
            #expect(assistant.last?.contains("INV-2231") == true)
            #expect(assistant.last?.contains("Mariana Ruiz") == true)

            // Every assistant message went out through the relay like any other.
            #expect(await eventually(timeout: .seconds(10)) { system.bridge.delivered.count == 5 })
            #expect(system.bridge.deliveredTexts == assistant)

            // The classifier labelled the description and the api stored it, with a note in the conversation.
            func tickets(_ query: String = "") async throws -> [TicketSummary] {
                try await system.get("/tickets\(query)").decode([TicketSummary].self)
            }
            #expect(
                await eventually(timeout: .seconds(20)) {
                    (try? await tickets("?categoria=Hardware").first?.id) == ticketID
                })
            let ticket = try #require(try await tickets().first)
            #expect(ticket.nombre == "Mariana Ruiz")
            #expect(ticket.equipo == "HP Probook 440")
            #expect(ticket.activo == "INV-2231")
            #expect((ticket.confianza ?? 0) > 0.5)
            let notes = try await system.history(ticketID).filter { $0.role == "system" }
            #expect(notes.contains { $0.content.contains("Clasificado como Hardware") })
            #expect(try await tickets("?categoria=Software").isEmpty)
        }
    }
}
