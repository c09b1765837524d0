import Foundation
import HTTPTypes
import MostradorContracts
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// A technician's files reach the WhatsApp customer (the `relay.send` carries the bytes), and replies quote the
/// message they answer both ways: the channel's own reply id out, `responde_a` in every conversation view.
@Suite struct FilesAndRepliesOutTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<2000).map { UInt8($0 % 251) }

    static func multipart(_ bytes: [UInt8], name: String, caption: String?) -> Data {
        var body = Data()
        if let caption {
            body.append(Data("--B\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\n\(caption)\r\n".utf8))
        }
        body.append(
            Data(
                ("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\n").utf8))
        body.append(contentsOf: bytes)
        body.append(Data("\r\n--B--\r\n".utf8))
        return body
    }

    /// The technician (the bootstrap admin) uploads `bytes` into `ticket`'s chat with a fresh grant.
    static func upload(_ api: APITestSystem, ticket: Int64, _ bytes: [UInt8], name: String, caption: String?)
        async throws -> APITestSystem.Reply
    {
        guard
            case .session(_, let admin) = try await api.components.agents.login(
                username: APITestSystem.adminUser, password: APITestSystem.adminPassword)
        else { throw CancellationError() }
        let token = try api.components.uploads.grant(ticketID: ticket, caller: .agent(admin))
        return try await api.call(
            .post, "/api/soporte/tickets/\(ticket)/chat/upload?upload_token=\(token)",
            body: multipart(bytes, name: name, caption: caption), contentType: "multipart/form-data; boundary=B")
    }

    static func history(_ api: APITestSystem, ticket: Int64) async throws -> [[String: Any]] {
        let reply = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: try await api.admin())
        try #require(reply.status == 200, Comment(rawValue: reply.text))
        return try #require(try reply.json()["historial"] as? [[String: Any]])
    }

    @Test func aTechniciansPhotoGoesToTheCustomerWithItsBytesAndCaption() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp("5215550001111", "Hola, mi laptop no enciende")
            let reply = try await Self.upload(
                api, ticket: ticket, Self.png, name: "diagnostico.png", caption: "Así se ve")
            #expect(reply.status == 201, Comment(rawValue: reply.text))
            let command = try #require(try await api.relaySends().last)
            #expect(command.recipient == "5215550001111")
            #expect(command.text == "Así se ve")
            let file = try #require(command.attachment)
            #expect(file.mime == "image/png")
            #expect(file.filename == "diagnostico.png")
            #expect([UInt8](file.data) == Self.png)
            #expect(command.messageID == (try reply.json()["mensaje_id"] as? Int).map(Int64.init))
            // The panel shows it as the technician's file, waiting for WhatsApp's verdict.
            let shown = try #require(try await Self.history(api, ticket: ticket).last)
            #expect(shown["role"] as? String == "tecnico")
            #expect(shown["adjunto_tipo"] as? String == "image/png")
            #expect(shown["estado_entrega"] as? String == "queued")
        }
    }

    @Test func aFileWithoutCaptionGoesWithAnEmptyTextAndAHostileCaptionIsRefused() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp("5215550001112", "Hola")
            let pdf = Array("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".utf8)
            #expect(
                try await Self.upload(api, ticket: ticket, pdf, name: "presupuesto.pdf", caption: nil).status == 201)
            let command = try #require(try await api.relaySends().last)
            #expect(command.text.isEmpty)
            #expect(command.attachment?.mime == "application/pdf")
            let before = try await api.relaySends().count
            let refused = try await Self.upload(
                api, ticket: ticket, pdf, name: "otro.pdf", caption: String(repeating: "x", count: 5000))
            #expect(refused.status == 400, Comment(rawValue: refused.text))
            #expect(try await api.relaySends().count == before)
        }
    }

    @Test func aTechniciansReplyQuotesTheCustomersMessageThroughTheChannel() async throws {
        try await CloudWebhookTests.with { api in
            let body = try CloudWebhookTests.fixture("inbound/text.pywa.json") { value in
                CloudWebhookTests.message(&value) { $0["id"] = "wamid.PREGUNTA" }
            }
            #expect(try await CloudWebhookTests.post(api, body).status == 200)
            let (ticket, question) = try #require(
                try await api.pool.read { db in
                    try Row.fetchOne(db, sql: "SELECT ticket_id, id FROM messages WHERE external_id = 'wamid.PREGUNTA'")
                        .map { ($0["ticket_id"] as Int64, $0["id"] as Int64) }
                })
            let admin = try await api.admin()
            let sent = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "Sí, es la batería", "responde_a": question])
            #expect([200, 504].contains(sent.status), Comment(rawValue: sent.text))
            let command = try #require(try await api.relaySends().last)
            #expect(command.text == "Sí, es la batería")
            #expect(command.replyTo == "wamid.PREGUNTA")
            let answer = try #require(try await Self.history(api, ticket: ticket).last)
            let quoted = try #require(answer["responde_a"] as? [String: Any])
            #expect(quoted["id"] as? Int == Int(question))
            #expect(quoted["role"] as? String == "user")
            #expect((quoted["contenido"] as? String)?.isEmpty == false)
        }
    }

    @Test func aQuoteFromAnotherTicketIsRefusedAndNothingIsStored() async throws {
        try await APITestSystem.with { api in
            let mine = try await api.whatsapp("5215550002221", "Hola")
            let other = try await api.whatsapp("5215550002222", "Otro cliente")
            let foreign = try #require(
                try await api.pool.read { db in
                    try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM messages WHERE ticket_id = ?", arguments: [other])
                })
            let count = { try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") } }
            let before = try await count()
            let sends = try await api.relaySends().count
            let admin = try await api.admin()
            for quote in [foreign, 999_999] {
                let reply = try await api.call(
                    .post, "/ticket/\(mine)/enviar-mensaje", authorization: admin,
                    json: ["mensaje": "respuesta", "responde_a": quote])
                #expect(reply.status == 400, Comment(rawValue: reply.text))
                #expect(reply.text.contains("citado"))
            }
            let wrongType = try await api.call(
                .post, "/ticket/\(mine)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "respuesta", "responde_a": "uno"])
            #expect(wrongType.status == 400)
            #expect(try await count() == before)
            #expect(try await api.relaySends().count == sends)
        }
    }

    @Test func aCustomersReplyShowsTheMessageItAnswersOnEveryChannel() async throws {
        try await CloudWebhookTests.with { api in
            // Cloud API: `context.id` names the quoted message.
            let first = try CloudWebhookTests.fixture("inbound/text.pywa.json") { value in
                CloudWebhookTests.message(&value) { $0["id"] = "wamid.ORIGINAL" }
            }
            #expect(try await CloudWebhookTests.post(api, first).status == 200)
            let reply = try CloudWebhookTests.fixture("inbound/reply_with_context.pywa.json") { value in
                CloudWebhookTests.message(&value) {
                    $0["from"] = "972987654321"
                    $0["context"] = ["from": "972987654321", "id": "wamid.ORIGINAL"]
                }
            }
            #expect(try await CloudWebhookTests.post(api, reply).status == 200)
            let rows = try await api.pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT id, ticket_id, reply_to_id FROM messages WHERE role = 'user' ORDER BY id")
            }
            try #require(rows.count == 2)
            #expect(rows[1]["reply_to_id"] as Int64? == rows[0]["id"] as Int64)
            // The intake assistant may have answered after it: the reply is found by its id.
            let shown = try #require(
                try await Self.history(api, ticket: rows[1]["ticket_id"]).last {
                    $0["id"] as? Int == Int(rows[1]["id"] as Int64)
                })
            #expect((shown["responde_a"] as? [String: Any])?["id"] as? Int == Int(rows[0]["id"] as Int64))

            // A reply to a message Mostrador never saw is stored as a plain message.
            let unknown = try CloudWebhookTests.fixture("inbound/reply_with_context.pywa.json") { value in
                CloudWebhookTests.message(&value) {
                    $0["id"] = "wamid.OTRA"
                    $0["from"] = "972987654321"
                    $0["context"] = ["from": "972987654321", "id": "wamid.NUNCA"]
                }
            }
            #expect(try await CloudWebhookTests.post(api, unknown).status == 200)
            let last = try await api.pool.read { db in
                try Row.fetchOne(db, sql: "SELECT reply_to_id FROM messages WHERE external_id = 'wamid.OTRA'")
            }
            #expect(last != nil)
            #expect(last?["reply_to_id"] as Int64? == nil)
        }
    }

    @Test func theSeedBridgesReplyFieldQuotesToo() async throws {
        try await APITestSystem.with { api in
            let token = "Bearer \(APITestSystem.webhookToken)"
            let first = try await api.call(
                .post, "/webhook", authorization: token,
                json: ["remitente": "5215550003333", "contenido": "¿Tienen la pieza?", "id_mensaje": "3EB0PRIMERO"])
            #expect(first.status == 200)
            let second = try await api.call(
                .post, "/webhook", authorization: token,
                json: [
                    "remitente": "5215550003333", "contenido": "¿Me confirman?", "id_mensaje": "3EB0SEGUNDO",
                    "en_respuesta_a": "3EB0PRIMERO",
                ])
            #expect(second.status == 200)
            let rows = try await api.pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT id, external_id, reply_to_id FROM messages WHERE role = 'user' ORDER BY id")
            }
            try #require(rows.count == 2)
            #expect(rows[1]["reply_to_id"] as Int64? == rows[0]["id"] as Int64)
        }
    }

    /// The id of the message `replyTo` in the stored conversation, or nil when it is not a reply.
    static func quotedID(_ api: APITestSystem, externalID: String) async throws -> (reply: Int64?, original: Int64?) {
        try await api.pool.read { db in
            let reply = try Int64.fetchOne(
                db, sql: "SELECT reply_to_id FROM messages WHERE external_id = ?", arguments: [externalID])
            let original = try Int64.fetchOne(
                db, sql: "SELECT MIN(id) FROM messages WHERE role = 'user'")
            return (reply, original)
        }
    }

    @Test func wahasReplyToShowsTheQuotedMessage() async throws {
        try await WAHAWebhookTests.with { api, _ in
            #expect(try await WAHAWebhookTests.post(api, try WAHAWebhookTests.message()).status == 200)
            // `event_message_with_replyTo.jsonc`: `replyTo.id` names the quoted message.
            let reply = try WAHAWebhookTests.message {
                $0["id"] = "false_5214771234567@c.us_3EB0BBBB"
                $0["body"] = "¿Y esta?"
                $0["replyTo"] = ["id": "false_5214771234567@c.us_3EB0AAAA", "body": "La impresora no imprime"]
            }
            #expect(try await WAHAWebhookTests.post(api, reply).status == 200)
            let ids = try await Self.quotedID(api, externalID: "false_5214771234567@c.us_3EB0BBBB")
            #expect(ids.reply != nil)
            #expect(ids.reply == ids.original)
        }
    }

    @Test func evolutionsContextInfoShowsTheQuotedMessage() async throws {
        try await EvolutionWebhookTests.with { api, _ in
            let first = EvolutionWebhookTests.upsert(id: "3EB0PRIMERO", remoteJid: "5214771234567@s.whatsapp.net")
            #expect(try await EvolutionWebhookTests.post(api, first).status == 200)
            // 2.3.x: a reply's text is rewritten to `conversation`; `data.contextInfo.stanzaId` names the quote.
            var reply = EvolutionWebhookTests.upsert(
                id: "3EB0SEGUNDO", remoteJid: "5214771234567@s.whatsapp.net", text: "¿Y esta?")
            var data = reply["data"] as! [String: Any]
            data["contextInfo"] = [
                "stanzaId": "3EB0PRIMERO", "participant": "5214771234567@s.whatsapp.net",
                "quotedMessage": ["conversation": "No enciende"],
            ]
            reply["data"] = data
            #expect(try await EvolutionWebhookTests.post(api, reply).status == 200)
            let ids = try await Self.quotedID(api, externalID: "3EB0SEGUNDO")
            #expect(ids.reply != nil)
            #expect(ids.reply == ids.original)
        }
    }
}
