import Foundation
import TestSupport
import Testing

/// The seed flow (seeds 000, 001, 004) through the real api and relay, a real broker and a real HTTP bridge.
@Suite("Live chat over WhatsApp, end to end", .serialized)
struct SeedFlowTests {
    @Test func webhookTicketConversationSendAndBridgeReceivesExactlyNumeroAndTexto() async throws {
        try await MostradorSystem.with { system in
            let received = try await system.webhook([
                "remitente": "5214772758198@s.whatsapp.net", "contenido": "Mi laptop no enciende",
                "nombre": "Juan Pérez",
            ])
            #expect(received.status == 200)
            let receipt = try received.decode(WebhookReceipt.self)
            #expect(receipt.status == "recibido")
            let ticketID = receipt.ticketID

            let tickets = try await system.get("/tickets")
            #expect(tickets.status == 200)
            let list = try tickets.decode([TicketSummary].self)
            #expect(list.first?.id == ticketID)
            #expect(list.first?.nombre == "Juan Pérez")
            #expect(list.first?.telefono == "+5214772758198")

            var history = try await system.history(ticketID)
            #expect(history.count == 1)
            #expect(history.first?.role == "user")
            #expect(history.first?.content == "Mi laptop no enciende")
            #expect(history.first?.timestamp != nil)

            let sent = try await system.post(
                "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "Hola Juan, ya revisamos tu equipo 👍"])
            #expect(sent.status == 200, "\(sent.text)")
            let answer = try sent.decode(Sent.self)
            #expect(answer.status == "enviado")
            #expect(answer.ticketID == ticketID)
            #expect(answer.telefono == "+5214772758198")
            #expect(answer.mensaje == "Mensaje enviado correctamente")

            let request = try #require(system.bridge.requests.first)
            #expect(system.bridge.requests.count == 1)
            #expect(request.bodyKeys == ["numero", "texto"])
            #expect(request.body["texto"] == "Hola Juan, ya revisamos tu equipo 👍")
            #expect(request.body["numero"] == "5214772758198@s.whatsapp.net")
            #expect(request.authorization == "Bearer \(system.bridge.token)")

            history = try await system.history(ticketID)
            // The reply took the chat: a system note says so; the conversation itself is user, tecnico.
            #expect(history.map(\.role).filter { $0 != "system" } == ["user", "tecnico"])
            #expect(history.contains { $0.content.contains("se unió al chat") })
            #expect(history.last?.estadoEntrega == "sent")

            // The customer answers; the same ticket continues.
            #expect(try await system.receive(["remitente": "+5214772758198", "contenido": "¡Gracias!"]) == ticketID)
            history = try await system.history(ticketID)
            #expect(history.map(\.role).filter { $0 != "system" } == ["user", "tecnico", "user"])
        }
    }

    @Test func bridgeDownAnswers503ThenDeliversExactlyOnceWhenItIsBack() async throws {
        try await MostradorSystem.with { system in
            let ticketID = try await system.receive(["remitente": "5215550001111", "contenido": "no imprime"])

            system.bridge.mode = .down
            let response = try await system.post(
                "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "¿Sigue fallando?"])
            #expect(response.status == 503)
            let body = try response.decode(Failure.self)
            #expect(body.detail == "WhatsApp desconectado")
            #expect(body.guardado == true)
            var history = try await system.history(ticketID)
            #expect(history.last?.content == "¿Sigue fallando?")
            #expect(history.last?.estadoEntrega == "waiting_bridge")

            // A second message while down queues behind the first.
            _ = try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "segundo"])
            system.bridge.mode = .normal
            #expect(await eventually(timeout: .seconds(15)) { system.bridge.delivered.count == 2 })
            try await Task.sleep(for: .seconds(1))
            #expect(system.bridge.deliveredTexts == ["¿Sigue fallando?", "segundo"])
            history = try await system.history(ticketID)
            #expect(history.suffix(2).allSatisfy { $0.estadoEntrega == "sent" })
        }
    }

    @Test func slowBridgeAnswers504ThenDeliversOnce() async throws {
        try await MostradorSystem.with(environment: ["MOSTRADOR_SEND_WAIT_SECONDS": "1"]) { system in
            let ticketID = try await system.receive(["remitente": "5215550002222", "contenido": "hola"])
            system.bridge.mode = .slow(.milliseconds(2500))
            let response = try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "lento"])
            // 504, not 200: the api stopped waiting before the bridge (2.5 s) answered.
            #expect(response.status == 504)
            #expect(try response.decode(Failure.self).guardado == true)
            #expect(
                await eventually(timeout: .seconds(10)) {
                    (try? await system.history(ticketID).last?.estadoEntrega) == "sent"
                })
            #expect(system.bridge.delivered.count == 1)
            #expect(system.bridge.requests.count == 1)
        }
    }

    @Test func retriedSendWithTheSameClientIDIsStoredAndDeliveredOnce() async throws {
        try await MostradorSystem.with { system in
            let ticketID = try await system.receive(["remitente": "5215550003333", "contenido": "hola"])
            let first = try await system.post(
                "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "una vez", "client_id": "panel-42"])
            let second = try await system.post(
                "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "una vez", "client_id": "panel-42"])
            #expect(first.status == 200 && second.status == 200)
            #expect(try first.decode(Sent.self).mensajeID == second.decode(Sent.self).mensajeID)
            try await Task.sleep(for: .milliseconds(500))
            #expect(system.bridge.delivered.count == 1)
            #expect(try await system.history(ticketID).filter { $0.role == "tecnico" }.count == 1)
        }
    }

    @Test func bridgeRefusalIsReportedAsFailedWithItsReason() async throws {
        try await MostradorSystem.with { system in
            let ticketID = try await system.receive(["remitente": "5215550004444", "contenido": "hola"])
            system.bridge.mode = .refusing
            let response = try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "x"])
            #expect(response.status == 502)
            #expect(try response.decode(Failure.self).detail?.contains("número no válido") == true)
            let last = try #require(try await system.history(ticketID).last)
            #expect(last.estadoEntrega == "failed")
            #expect(last.errorEntrega == "número no válido")
        }
    }

    @Test func notifySendsTheNamedTemplateThroughTheSamePath() async throws {
        try await MostradorSystem.with { system in
            let ticketID = try await system.receive([
                "remitente": "5215550005555", "contenido": "hola", "nombre": "Lupita",
            ])
            let ready = try await system.post("/ticket/\(ticketID)/notificar", json: [:] as [String: String])
            #expect(ready.status == 200, "\(ready.text)")
            #expect(system.bridge.deliveredTexts.last?.contains("Lupita") == true)
            #expect(system.bridge.deliveredTexts.last?.contains("#\(ticketID)") == true)
            let unknown = try await system.post("/ticket/\(ticketID)/notificar", json: ["plantilla": "no existe"])
            #expect(unknown.status == 400)
            #expect(try unknown.decode(Failure.self).plantillas?.contains("equipo listo") == true)
        }
    }
}
