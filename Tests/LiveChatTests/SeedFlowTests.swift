import Foundation
import TestSupport
import Testing

/// The seed flow (seeds 000, 001, 004) through the real api and relay, a real broker and a real HTTP bridge.
@Suite("Live chat over WhatsApp, end to end", .serialized)
struct SeedFlowTests {
    @Test func webhookTicketConversationSendAndBridgeReceivesExactlyNumeroAndTexto() async throws {
        let system = try await MostradorSystem()
        defer { Task { await system.stop() } }

        let received = try await system.webhook([
            "remitente": "5214772758198@s.whatsapp.net", "contenido": "Mi laptop no enciende", "nombre": "Juan Pérez",
        ])
        #expect(received.status == 200)
        let body = try received.json()
        #expect(body["status"] as? String == "recibido")
        let ticketID = try #require(body["ticket_id"] as? Int)

        let tickets = try await system.get("/tickets")
        #expect(tickets.status == 200)
        let list = try #require(try JSONSerialization.jsonObject(with: tickets.body) as? [[String: Any]])
        #expect(list.first?["id"] as? Int == ticketID)
        #expect(list.first?["nombre"] as? String == "Juan Pérez")
        #expect(list.first?["telefono"] as? String == "+5214772758198")

        var history = try await system.history(ticketID)
        #expect(history.count == 1)
        #expect(history.first?["role"] as? String == "user")
        #expect(history.first?["content"] as? String == "Mi laptop no enciende")
        #expect(history.first?["timestamp"] is String)

        let sent = try await system.post(
            "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "Hola Juan, ya revisamos tu equipo 👍"])
        #expect(sent.status == 200, "\(sent.text)")
        let answer = try sent.json()
        #expect(answer["status"] as? String == "enviado")
        #expect(answer["ticket_id"] as? Int == ticketID)
        #expect(answer["telefono"] as? String == "+5214772758198")
        #expect(answer["mensaje"] as? String == "Mensaje enviado correctamente")

        let request = try #require(system.bridge.requests.first)
        #expect(system.bridge.requests.count == 1)
        #expect(request.bodyKeys == ["numero", "texto"])
        #expect(request.body["texto"] == "Hola Juan, ya revisamos tu equipo 👍")
        #expect(request.body["numero"] == "5214772758198@s.whatsapp.net")
        #expect(request.authorization == "Bearer \(system.bridge.token)")

        history = try await system.history(ticketID)
        // The reply took the chat: a system note says so; the conversation itself is user, tecnico.
        #expect(history.compactMap { $0["role"] as? String }.filter { $0 != "system" } == ["user", "tecnico"])
        #expect(history.contains { ($0["content"] as? String)?.contains("se unió al chat") == true })
        #expect(history.last?["estado_entrega"] as? String == "sent")

        // The customer answers; the same ticket continues.
        let reply = try await system.webhook(["remitente": "+5214772758198", "contenido": "¡Gracias!"])
        #expect(try reply.json()["ticket_id"] as? Int == ticketID)
        history = try await system.history(ticketID)
        #expect(history.compactMap { $0["role"] as? String }.filter { $0 != "system" } == ["user", "tecnico", "user"])
    }

    @Test func bridgeDownAnswers503ThenDeliversExactlyOnceWhenItIsBack() async throws {
        let system = try await MostradorSystem()
        defer { Task { await system.stop() } }
        let ticketID = try #require(
            try await system.webhook(["remitente": "5215550001111", "contenido": "no imprime"]).json()["ticket_id"]
                as? Int)

        system.bridge.mode = .down
        let response = try await system.post(
            "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "¿Sigue fallando?"])
        #expect(response.status == 503)
        let body = try response.json()
        #expect(body["detail"] as? String == "WhatsApp desconectado")
        #expect(body["guardado"] as? Bool == true)
        var history = try await system.history(ticketID)
        #expect(history.last?["content"] as? String == "¿Sigue fallando?")
        #expect(history.last?["estado_entrega"] as? String == "waiting_bridge")

        // A second message while down queues behind the first.
        _ = try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "segundo"])
        system.bridge.mode = .normal
        #expect(await eventually(timeout: .seconds(15)) { system.bridge.delivered.count == 2 })
        try await Task.sleep(for: .seconds(1))
        #expect(system.bridge.deliveredTexts == ["¿Sigue fallando?", "segundo"])
        history = try await system.history(ticketID)
        #expect(history.suffix(2).allSatisfy { $0["estado_entrega"] as? String == "sent" })
    }

    @Test func slowBridgeAnswers504ThenDeliversOnce() async throws {
        let system = try await MostradorSystem(environment: ["MOSTRADOR_SEND_WAIT_SECONDS": "1"])
        defer { Task { await system.stop() } }
        let ticketID = try #require(
            try await system.webhook(["remitente": "5215550002222", "contenido": "hola"]).json()["ticket_id"] as? Int)
        system.bridge.mode = .slow(.milliseconds(2500))
        let started = ContinuousClock.now
        let response = try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "lento"])
        #expect(response.status == 504)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try response.json()["guardado"] as? Bool == true)
        #expect(
            await eventually(timeout: .seconds(10)) {
                (try? await system.history(ticketID).last?["estado_entrega"] as? String) == "sent"
            })
        #expect(system.bridge.delivered.count == 1)
        #expect(system.bridge.requests.count == 1)
    }

    @Test func retriedSendWithTheSameClientIDIsStoredAndDeliveredOnce() async throws {
        let system = try await MostradorSystem()
        defer { Task { await system.stop() } }
        let ticketID = try #require(
            try await system.webhook(["remitente": "5215550003333", "contenido": "hola"]).json()["ticket_id"] as? Int)
        let first = try await system.post(
            "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "una vez", "client_id": "panel-42"])
        let second = try await system.post(
            "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "una vez", "client_id": "panel-42"])
        #expect(first.status == 200 && second.status == 200)
        #expect(try first.json()["mensaje_id"] as? Int == second.json()["mensaje_id"] as? Int)
        try await Task.sleep(for: .milliseconds(500))
        #expect(system.bridge.delivered.count == 1)
        #expect(try await system.history(ticketID).filter { $0["role"] as? String == "tecnico" }.count == 1)
    }

    @Test func bridgeRefusalIsReportedAsFailedWithItsReason() async throws {
        let system = try await MostradorSystem()
        defer { Task { await system.stop() } }
        let ticketID = try #require(
            try await system.webhook(["remitente": "5215550004444", "contenido": "hola"]).json()["ticket_id"] as? Int)
        system.bridge.mode = .refusing
        let response = try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "x"])
        #expect(response.status == 502)
        #expect((try response.json()["detail"] as? String)?.contains("número no válido") == true)
        let last = try #require(try await system.history(ticketID).last)
        #expect(last["estado_entrega"] as? String == "failed")
        #expect(last["error_entrega"] as? String == "número no válido")
    }

    @Test func notifySendsTheNamedTemplateThroughTheSamePath() async throws {
        let system = try await MostradorSystem()
        defer { Task { await system.stop() } }
        let ticketID = try #require(
            try await system.webhook(["remitente": "5215550005555", "contenido": "hola", "nombre": "Lupita"])
                .json()["ticket_id"] as? Int)
        let ready = try await system.post("/ticket/\(ticketID)/notificar", json: [:] as [String: String])
        #expect(ready.status == 200, "\(ready.text)")
        #expect(system.bridge.deliveredTexts.last?.contains("Lupita") == true)
        #expect(system.bridge.deliveredTexts.last?.contains("#\(ticketID)") == true)
        let unknown = try await system.post("/ticket/\(ticketID)/notificar", json: ["plantilla": "no existe"])
        #expect(unknown.status == 400)
        #expect((try unknown.json()["plantillas"] as? [String])?.contains("equipo listo") == true)
    }
}
