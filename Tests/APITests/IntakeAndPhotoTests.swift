import Foundation
import HTTPTypes
import Testing

@testable import MostradorAPI

/// The intake assistant's dialogue and the customers' photos through the webhook, in process (the classifier, the
/// relay and an api restart are in `IntakeFlowTests`, against the real services).
@Suite("Assisted intake and photos through the api")
struct IntakeAndPhotoTests {
    static let bridge = "Bearer \(APITestSystem.webhookToken)"

    static func history(_ api: APITestSystem, _ ticket: Int64) async throws -> [Answer.Conversation.Item] {
        try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: try await api.admin())
            .decode(Answer.Conversation.self).historial
    }

    @Test func returningCustomerEnglishAndTheAgentShortcut() async throws {
        try await APITestSystem.with(configure: { $0.intake = true }) { api in
            // First ticket: English, hands off at once.
            let phone = "5215551230002"
            let first = try await api.whatsapp(phone, "hi, I need help", name: "Peter")
            var history = try await Self.history(api, first)
            #expect(history.last?.content.contains("Peter") == true)
            #expect(history.last?.content.contains("describe the problem") == true)
            try await api.whatsapp(phone, "talk to a human please")
            history = try await Self.history(api, first)
            #expect(history.last?.content.contains("technician") == true)
            try await api.whatsapp(phone, "anyone there?")
            #expect(try await Self.history(api, first).map(\.role).suffix(2) == ["assistant", "user"])

            // A technician writing ends the bot's part of an intake in progress.
            let second = try await api.whatsapp("5215551230003", "hola", name: "Rosa")
            _ = try await api.call(
                .post, "/ticket/\(second)/enviar-mensaje", authorization: try await api.admin(),
                json: ["mensaje": "Hola Rosa, soy Carlos"])
            try await api.whatsapp("5215551230003", "mi pc no prende")
            #expect(try await Self.history(api, second).last?.role == "user")
        }
    }

    @Test func photosAreCheckedByTheirBytesStoredOnceAndServedOnlyToAgents() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            let admin = try await api.admin()
            func webhook(_ body: [String: Any]) async throws -> APITestSystem.Reply {
                try await api.call(.post, "/webhook", authorization: Self.bridge, json: body)
            }
            func webhook(multipart body: Data, boundary: String) async throws -> APITestSystem.Reply {
                try await api.call(
                    .post, "/webhook", authorization: Self.bridge, body: body,
                    contentType: "multipart/form-data; boundary=\(boundary)")
            }
            func evidence(_ ticket: Int64) async throws -> [Answer.Evidence.Item] {
                try await api.call(.get, "/ticket/\(ticket)/evidencias", authorization: admin)
                    .decode(Answer.Evidence.self).evidencias
            }
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 600)
            let phone = "5215551230004"
            let json = try await webhook([
                "remitente": phone, "tipo": "imagen", "imagen_base64": Data(png).base64EncodedString(),
                "mimetype": "image/png", "caption": "así quedó la pantalla",
            ])
            #expect(json.status == 200, "\(json.text)")
            let ticketID = try json.decode(Answer.Received.self).ticketID

            // The same photo again, now as multipart with a JPEG next to it: content-addressed, stored once per content.
            let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 1, count: 300)
            for (bytes, type) in [(png, "image/png"), (jpeg, "image/jpeg")] {
                let multipart = try await webhook(
                    multipart: Self.multipart(
                        boundary: "XyZ", fields: ["remitente": phone, "caption": "otra"], file: bytes, type: type),
                    boundary: "XyZ")
                #expect(multipart.status == 200, "\(multipart.text)")
            }
            let items = try await evidence(ticketID)
            #expect(items.count == 3)
            #expect(items.map(\.tipo) == ["image/png", "image/png", "image/jpeg"])
            #expect(Set(items.map(\.sha256)).count == 2)
            let files = try FileManager.default.subpathsOfDirectory(atPath: api.directory + "/attachments")
                .filter { !$0.contains(".") && $0.split(separator: "/").count == 3 }
            #expect(files.count == 2)

            let url = try #require(items.first?.url)
            let download = try await api.call(.get, url, authorization: admin)
            #expect(download.status == 200)
            #expect(Array(download.body) == png)
            #expect(download.headers[.contentType] == "image/png")
            #expect(download.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(try await api.call(.get, url).status == 401)
            let history = try await Self.history(api, ticketID)
            #expect(history.first?.tipo == "image")
            #expect(history.first?.adjuntoURL == url)

            // Refusals: wrong type (415), too large (413), bad base64 (400) — and nothing more is stored.
            let exe = Data([0x4D, 0x5A, 0x90, 0x00] + Array(repeating: 0, count: 100)).base64EncodedString()
            let wrongType = try await webhook([
                "remitente": phone, "tipo": "imagen", "imagen_base64": exe, "mimetype": "image/jpeg",
            ])
            #expect(wrongType.status == 415)
            let big = Data([0xFF, 0xD8, 0xFF] + Array(repeating: 0, count: 16 << 20)).base64EncodedString()
            let tooLarge = try await webhook(["remitente": phone, "tipo": "imagen", "imagen_base64": big])
            #expect(tooLarge.status == 413, "\(tooLarge.text)")
            let badBase64 = try await webhook([
                "remitente": phone, "tipo": "imagen", "imagen_base64": "%%%not base64%%%",
            ])
            #expect(badBase64.status == 400)
            let bigMultipart = try await webhook(
                multipart: Self.multipart(
                    boundary: "B", fields: ["remitente": phone],
                    file: [0xFF, 0xD8, 0xFF] + Array(repeating: 0, count: (16 << 20) + 10), type: "image/jpeg"),
                boundary: "B")
            #expect(bigMultipart.status == 413)
            #expect(try await evidence(ticketID).count == 3)
            #expect(try await Self.history(api, ticketID).count == 3)
        }
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
