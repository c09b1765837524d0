import Foundation
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// The optional LLM reader of the intake (`MOSTRADOR_LLM_URL`) against a real OpenAI-compatible HTTP server: its
/// validated fields are used; invented values, errors, nonsense and timeouts leave the local extractor alone, and
/// the webhook answers either way.
@Suite struct IntakeLLMTests {
    static func ticket(_ api: APITestSystem, _ id: Int64) async throws -> Row {
        try #require(
            try await api.pool.read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT t.description, t.equipment, t.asset_tag, t.location, c.name
                        FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = ?
                        """, arguments: [id])
            })
    }

    static let message =
        "aquí Rodrigo Salas reportando desde almacén: la copiadora Ricoh MP 2014 atasca todas las hojas"

    @Test func theLLMsFieldsAreUsedWhenTheyAreWordsOfTheMessage() async throws {
        try await FakeLLM.with { llm in
            llm.set(
                .init(
                    reply: """
                        {"nombre": "Rodrigo Salas", "equipo": "copiadora Ricoh MP 2014", "activo": null,
                         "ubicacion": "almacén", "problema": "la copiadora Ricoh MP 2014 atasca todas las hojas",
                         "correccion": false}
                        """))
            // A generous limit: the fake answers at once, but a loaded machine (the whole suite in one process) can
            // take seconds to connect.
            try await APITestSystem.with(configure: {
                $0.llmURL = llm.url
                $0.llmTimeout = .seconds(30)
            }) { api in
                let id = try await api.whatsapp("5215550006001", Self.message)
                let row = try await Self.ticket(api, id)
                // The local extractor alone finds no name in "aquí Rodrigo Salas reportando".
                #expect(IntakeExtractor.facts(in: Self.message).name == nil)
                #expect(row["name"] as String? == "Rodrigo Salas")
                #expect(row["equipment"] as String? == "copiadora Ricoh MP 2014")
                #expect(row["location"] as String? == "almacén")
                #expect(row["description"] as String? == "la copiadora Ricoh MP 2014 atasca todas las hojas")
                #expect(llm.asked == [Self.message])
                // Once the intake is over, the LLM is not asked again.
                _ = try await api.whatsapp("5215550006001", "no tengo fotos")
                _ = try await api.whatsapp("5215550006001", "sí")
                _ = try await api.whatsapp("5215550006001", "¿ya mero?")
                #expect(llm.asked.count == 3)
            }
        }
    }

    @Test func inventedValuesAreDroppedAndTheLocalReadingStays() async throws {
        try await FakeLLM.with { llm in
            // A name and an asset number that are not in the message, a device that is.
            llm.set(
                .init(
                    reply: """
                        {"nombre": "Juan Pérez", "equipo": "impresora Epson", "activo": "99999", "ubicacion": null,
                         "problema": "la impresora no funciona", "correccion": false}
                        """))
            // A generous limit: the fake answers at once, but a loaded machine (the whole suite in one process) can
            // take seconds to connect.
            try await APITestSystem.with(configure: {
                $0.llmURL = llm.url
                $0.llmTimeout = .seconds(30)
            }) { api in
                let id = try await api.whatsapp(
                    "5215550006002", "Hola, soy Marta Ríos, mi impresora Epson L3150 no jala las hojas", name: "Martita"
                )
                let row = try await Self.ticket(api, id)
                #expect(row["name"] as String? == "Marta Ríos")
                #expect(row["asset_tag"] as String? == nil)
                #expect(row["equipment"] as String? == "impresora Epson")
                // "la impresora no funciona" is not the customer's words: the local problem stays.
                #expect(row["description"] as String? == "mi impresora Epson L3150 no jala las hojas")
            }
        }
    }

    /// Each failure leaves the local reading. The slow answer would name the customer (a name the local extractor
    /// cannot find in "aquí Rodrigo Salas reportando"): past the time limit it must not be used.
    @Test(arguments: ["error", "nonsense", "timeout"])
    func aFailingLLMLeavesTheLocalExtractor(_ failure: String) async throws {
        try await FakeLLM.with { llm in
            switch failure {
            case "error": llm.set(.init(status: 500))
            case "nonsense": llm.set(.init(reply: "Claro, con gusto te ayudo con tu copiadora."))
            default: llm.set(.init(reply: #"{"nombre": "Rodrigo Salas"}"#, delay: .seconds(60)))
            }
            try await APITestSystem.with(configure: {
                $0.llmURL = llm.url
                // Errors and prose come at once (a long limit keeps a loaded machine from turning them into
                // timeouts); the slow answer is 60 s away from a 2 s limit.
                $0.llmTimeout = failure == "timeout" ? .seconds(2) : .seconds(30)
            }) { api in
                let id = try await api.whatsapp("5215550006003", Self.message, name: "Rodri")
                let row = try await Self.ticket(api, id)
                // Exactly the local reading: the push name stays, no name from the model.
                let local = IntakeExtractor.facts(in: Self.message)
                #expect(row["name"] as String? == "Rodri")
                #expect(row["equipment"] as String? == local.equipment)
                #expect(row["location"] as String? == local.location)
                #expect(row["description"] as String? == local.problem)
                #expect(local.equipment != nil && local.problem != nil)
                // Asked once at most (on a loaded machine the request may not even arrive within the limit).
                #expect(llm.asked.count <= 1)
            }
        }
    }

    @Test func validationKeepsOnlyWhatTheMessageSays() {
        let message = "Buenas, habla Pedro Gómez de la sucursal Norte, el SAP no abre, activo 4471"
        let facts = IntakeLLM.validated(
            """
            ```json
            {"nombre": "Pedro Gómez", "equipo": "SAP", "activo": "4471", "ubicacion": "sucursal Norte",
             "problema": "el SAP no abre", "correccion": false}
            ```
            """, message: message)
        #expect(facts?.name == "Pedro Gómez" && facts?.asset == "4471" && facts?.location == "sucursal Norte")
        #expect(IntakeLLM.validated(#"{"nombre": "Ana; DROP TABLE"}"#, message: message) == nil)
        #expect(IntakeLLM.validated(#"["Pedro"]"#, message: message) == nil)
        #expect(IntakeLLM.validated(#"{"activo": "4471 y 4472"}"#, message: message) == nil)
    }
}
