import Foundation
import TestSupport
import Testing

/// The intake, photos and classification through the real services and broker.
@Suite("Assisted intake, photos and classification end to end", .serialized)
struct IntakeFlowTests {
    static func roles(_ history: [[String: Any]]) -> [String] { history.compactMap { $0["role"] as? String } }

    @Test func newCustomerDialogueSurvivesAnApiRestartAndTheDescriptionIsClassifiedThroughTheBroker() async throws {
        let system = try await MostradorSystem(classifier: true, environment: ["MOSTRADOR_INTAKE": "on"])
        defer { Task { await system.stop() } }
        let phone = "5215551230001"
        let ticketID = try #require(
            try await system.webhook(["remitente": phone, "contenido": "hola"]).json()["ticket_id"] as? Int)
        _ = try await system.webhook(["remitente": phone, "contenido": "Soy Mariana Ruiz"])

        // The api restarts mid-intake: the conversation carries on where it was.
        try await system.restartAPI()
        _ = try await system.webhook([
            "remitente": phone, "contenido": "se me cayo la laptop y la pantalla quedo toda rota con rayas",
        ])
        _ = try await system.webhook(["remitente": phone, "contenido": "HP Probook 440, activo INV-2231"])
        _ = try await system.webhook(["remitente": phone, "contenido": "listo"])

        let history = try await system.history(ticketID)
        let assistant = history.filter { $0["role"] as? String == "assistant" }.compactMap { $0["content"] as? String }
        #expect(assistant.count == 5, "\(assistant)")
        #expect(assistant.first?.contains("nombre") == true)
        #expect(assistant.last?.contains("#\(ticketID)") == true)
        #expect(assistant.last?.contains("INV-2231") == true)
        #expect(assistant.last?.contains("Mariana Ruiz") == true)

        // Every assistant message went out through the relay like any other.
        #expect(await eventually(timeout: .seconds(10)) { system.bridge.delivered.count == 5 })
        #expect(system.bridge.deliveredTexts == assistant)

        // The classifier labelled the description and the api stored it, with a note in the conversation.
        #expect(
            await eventually(timeout: .seconds(20)) {
                let list =
                    try? JSONSerialization.jsonObject(with: try await system.get("/tickets?categoria=Hardware").body)
                    as? [[String: Any]]
                return list?.first?["id"] as? Int == ticketID
            })
        let ticket = try #require(
            try JSONSerialization.jsonObject(with: try await system.get("/tickets").body) as? [[String: Any]]
        ).first
        #expect(ticket?["nombre"] as? String == "Mariana Ruiz")
        #expect(ticket?["equipo"] as? String == "HP Probook 440, activo INV-2231")
        #expect((ticket?["confianza"] as? Double ?? 0) > 0.5)
        let notes = try await system.history(ticketID).filter { $0["role"] as? String == "system" }
        #expect(notes.contains { ($0["content"] as? String)?.contains("Clasificado como Hardware") == true })
        #expect(
            (try JSONSerialization.jsonObject(with: try await system.get("/tickets?categoria=Software").body) as? [Any])?
                .isEmpty == true)
    }

    @Test func returningCustomerEnglishAndTheAgentShortcut() async throws {
        let system = try await MostradorSystem(environment: ["MOSTRADOR_INTAKE": "on"])
        defer { Task { await system.stop() } }
        // First ticket: English, hands off at once.
        let phone = "5215551230002"
        let first = try #require(
            try await system.webhook(["remitente": phone, "contenido": "hi, I need help", "nombre": "Peter"])
                .json()["ticket_id"] as? Int)
        var history = try await system.history(first)
        #expect((history.last?["content"] as? String)?.contains("Peter") == true)
        #expect((history.last?["content"] as? String)?.contains("describe the problem") == true)
        _ = try await system.webhook(["remitente": phone, "contenido": "talk to a human please"])
        history = try await system.history(first)
        #expect((history.last?["content"] as? String)?.contains("technician") == true)
        _ = try await system.webhook(["remitente": phone, "contenido": "anyone there?"])
        #expect(Self.roles(try await system.history(first)).suffix(2) == ["assistant", "user"])

        // A technician writing ends the bot's part of an intake in progress.
        let second = try #require(
            try await system.webhook(["remitente": "5215551230003", "contenido": "hola", "nombre": "Rosa"]).json()[
                "ticket_id"] as? Int)
        _ = try await system.post("/ticket/\(second)/enviar-mensaje", json: ["mensaje": "Hola Rosa, soy Carlos"])
        _ = try await system.webhook(["remitente": "5215551230003", "contenido": "mi pc no prende"])
        #expect(Self.roles(try await system.history(second)).last == "user")
    }

    @Test func photosAreCheckedByTheirBytesStoredOnceAndServedOnlyToAgents() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 600)
        let phone = "5215551230004"
        let json = try await system.webhook([
            "remitente": phone, "tipo": "imagen", "imagen_base64": Data(png).base64EncodedString(),
            "mimetype": "image/png", "caption": "así quedó la pantalla",
        ])
        #expect(json.status == 200, "\(json.text)")
        let ticketID = try #require(try json.json()["ticket_id"] as? Int)

        // The same photo again, now as multipart with a JPEG next to it: content-addressed, stored once per content.
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 1, count: 300)
        for (bytes, type) in [(png, "image/png"), (jpeg, "image/jpeg")] {
            let multipart = try await HTTP.request(
                "POST", "\(system.baseURL)/webhook",
                headers: [
                    "Authorization": "Bearer \(MostradorSystem.webhookToken)",
                    "Content-Type": "multipart/form-data; boundary=XyZ",
                ],
                body: Self.multipart(
                    boundary: "XyZ", fields: ["remitente": phone, "caption": "otra"], file: bytes, type: type))
            #expect(multipart.status == 200, "\(multipart.text)")
        }
        let evidence = try await system.get("/ticket/\(ticketID)/evidencias")
        let items = try #require(try evidence.json()["evidencias"] as? [[String: Any]])
        #expect(items.count == 3)
        #expect(items.map { $0["tipo"] as? String } == ["image/png", "image/png", "image/jpeg"])
        #expect(Set(items.compactMap { $0["sha256"] as? String }).count == 2)
        let files = try FileManager.default.subpathsOfDirectory(atPath: system.dataDirectory + "/attachments")
            .filter { !$0.contains(".") && $0.split(separator: "/").count == 3 }
        #expect(files.count == 2)

        let url = try #require(items.first?["url"] as? String)
        let download = try await system.get(url)
        #expect(download.status == 200)
        #expect(Array(download.body) == png)
        #expect(download.header("content-type") == "image/png")
        #expect(download.header("x-content-type-options") == "nosniff")
        #expect(try await HTTP.get("\(system.baseURL)\(url)").status == 401)
        let history = try await system.history(ticketID)
        #expect(history.first?["tipo"] as? String == "image")
        #expect(history.first?["adjunto_url"] as? String == url)

        // Refusals: wrong type (415), too large (413), bad base64 (400) — and nothing more is stored.
        let exe = Data([0x4D, 0x5A, 0x90, 0x00] + Array(repeating: 0, count: 100)).base64EncodedString()
        let wrongType = try await system.webhook([
            "remitente": phone, "tipo": "imagen", "imagen_base64": exe, "mimetype": "image/jpeg",
        ])
        #expect(wrongType.status == 415)
        let big = Data([0xFF, 0xD8, 0xFF] + Array(repeating: 0, count: 16 << 20)).base64EncodedString()
        let tooLarge = try await system.webhook(["remitente": phone, "tipo": "imagen", "imagen_base64": big])
        #expect(tooLarge.status == 413, "\(tooLarge.text)")
        let badBase64 = try await system.webhook([
            "remitente": phone, "tipo": "imagen", "imagen_base64": "%%%not base64%%%",
        ])
        #expect(badBase64.status == 400)
        let bigMultipart = try await HTTP.request(
            "POST", "\(system.baseURL)/webhook",
            headers: [
                "Authorization": "Bearer \(MostradorSystem.webhookToken)",
                "Content-Type": "multipart/form-data; boundary=B",
            ],
            body: Self.multipart(
                boundary: "B", fields: ["remitente": phone],
                file: [0xFF, 0xD8, 0xFF] + Array(repeating: 0, count: (16 << 20) + 10), type: "image/jpeg"))
        #expect(bigMultipart.status == 413)
        #expect(try await system.get("/ticket/\(ticketID)/evidencias").json()["evidencias"] as? [Any] != nil)
        #expect((try await system.get("/ticket/\(ticketID)/evidencias").json()["evidencias"] as? [Any])?.count == 3)
        #expect(try await system.history(ticketID).count == 3)
    }

    static func multipart(boundary: String, fields: [String: String], file: [UInt8], type: String) -> Data {
        var body = Data()
        for (name, value) in fields {
            body.append(
                Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        body.append(
            Data(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"imagen\"; filename=\"foto\"\r\nContent-Type: \(type)\r\n\r\n"
                    .utf8))
        body.append(Data(file))
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return body
    }
}
