import Foundation
import HTTPTypes
import MostradorContracts
import MostradorSQL
import MostradorServiceKit
import TestSupport
import Testing

@testable import MostradorAPI

/// Reads a sample from `Tests/Fixtures/`: JSONC as WAHA's docs publish it (comments, `...` placeholders and
/// trailing commas removed; values untouched).
enum Fixtures {
    static func json(_ path: String) throws -> [String: Any] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        var text = try String(contentsOf: root.appendingPathComponent("Fixtures/\(path)"), encoding: .utf8)
        text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var line = String(line)
            if let comment = line.range(of: " //")
                ?? (line.trimmingCharacters(in: .whitespaces).hasPrefix("//")
                    ? line.range(of: "//") : nil)
            {
                line = String(line[..<comment.lowerBound])
            }
            return line.trimmingCharacters(in: .whitespaces) == "..." ? "" : line
        }.joined(separator: "\n")
        text = text.replacingOccurrences(of: #",(\s*[}\]])"#, with: "$1", options: .regularExpression)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func data(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
}

/// The WAHA webhook, fed WAHA's documented events, signed as WAHA signs them, with a real HTTP stand-in for WAHA
/// itself (files, the Lids API).
@Suite struct WAHAWebhookTests {
    static let key = "clave-hmac-de-waha"

    static func with(_ body: @Sendable (APITestSystem, FakeGateway) async throws -> Void) async throws {
        let waha = try await FakeGateway()
        defer { waha.stop() }
        try await APITestSystem.with(configure: {
            $0.wahaHMACKey = key
            $0.gateways.waha = .init(url: waha.url, apiKey: waha.apiKey, session: "default")
        }) { api in try await body(api, waha) }
    }

    static func post(_ api: APITestSystem, _ body: Data, signature: String? = nil, algorithm: String? = "sha512")
        async throws -> APITestSystem.Reply
    {
        var headers: HTTPFields = [:]
        headers[WAHAWebhookController.signatureHeader] =
            signature ?? WAHAWebhookController.signature(for: body, key: key)
        if let algorithm { headers[WAHAWebhookController.algorithmHeader] = algorithm }
        headers[HTTPField.Name("X-Webhook-Request-Id")!] = "evt_01jq0000000000000000000000"
        return try await api.call(.post, "/webhooks/waha", body: body, headers: headers)
    }

    /// `event_message.jsonc` as a customer's message (`fromMe: false`) with changes.
    static func message(_ change: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
        var event = try Fixtures.json("waha/event_message.jsonc")
        var payload = event["payload"] as! [String: Any]
        payload["fromMe"] = false
        payload["id"] = "false_5214771234567@c.us_3EB0AAAA"
        payload["from"] = "5214771234567@c.us"
        payload["body"] = "La impresora no imprime"
        payload["_data"] = ["notifyName": "Lucía"]
        change(&payload)
        event["payload"] = payload
        return try Fixtures.data(event)
    }

    static func rows(_ api: APITestSystem, _ sql: String) async throws -> [Row] {
        try await api.pool.read { db in try Row.fetchAll(db, sql: sql) }
    }

    @Test func unsignedForgedOrUnconfiguredEventsAreRefusedAndStoreNothing() async throws {
        try await Self.with { api, _ in
            let body = try Self.message()
            for (label, signature, algorithm) in [
                ("missing", "", "sha512"),
                ("other key", WAHAWebhookController.signature(for: body, key: "otra"), "sha512"),
                ("sha256 claimed", WAHAWebhookController.signature(for: body, key: Self.key), "sha256"),
                ("not hex", String(repeating: "z", count: 128), "sha512"),
            ] {
                let reply = try await Self.post(api, body, signature: signature, algorithm: algorithm)
                #expect(reply.status == 401, Comment(rawValue: label))
                #expect(reply.failure?.detail?.contains("X-Webhook-Hmac") == true)
            }
            #expect(try await Self.rows(api, "SELECT id FROM messages").isEmpty)
        }
        try await APITestSystem.with { api in
            let body = try Self.message()
            let reply = try await Self.post(api, body)
            #expect(reply.status == 401)
            #expect(reply.failure?.detail?.contains("MOSTRADOR_WAHA_HMAC_KEY") == true)
        }
    }

    @Test func theDocumentedSignatureIsReproduced() {
        // WAHA's docs: HMAC-SHA512 of this body with `my-secret-key` (NOTES.md, "Webhooks").
        let body = Data(#"{"event":"message","session":"default","engine":"WEBJS"}"#.utf8)
        let signature = WAHAWebhookController.signature(for: body, key: "my-secret-key")
        #expect(signature.hasPrefix("208f8a55"))
        #expect(signature.hasSuffix("53fa89"))
    }

    @Test func aCustomersMessageOpensATicketThatAnswersThroughWAHA() async throws {
        try await Self.with { api, _ in
            // The documented sample is our own message (`fromMe: true`): not a customer's.
            let own = try await Self.post(api, try Fixtures.data(try Fixtures.json("waha/event_message.jsonc")))
            #expect(own.status == 200)
            #expect(try own.json()["mensajes"] as? Int == 0)

            let body = try Self.message()
            for _ in 0..<2 { #expect(try await Self.post(api, body).status == 200) }
            let tickets = try await Self.rows(api, "SELECT id, reply_address, reply_channel FROM tickets")
            #expect(tickets.count == 1)
            #expect(tickets.first?["reply_channel"] as String? == "waha")
            #expect(tickets.first?["reply_address"] as String? == "5214771234567@c.us")
            #expect(try await Self.rows(api, "SELECT id FROM messages WHERE role = 'user'").count == 1)
            #expect(try await Self.rows(api, "SELECT name FROM customers").first?["name"] as String? == "Lucía")

            let ticket: Int64 = tickets[0]["id"]
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: try await api.admin(),
                json: ["mensaje": "¿Qué modelo es?"])
            let command = try #require(try await api.relaySends().last)
            #expect(command.channel == "waha")
            #expect(command.recipient == "5214771234567@c.us")
        }
    }

    @Test func anLIDSenderIsTheSameCustomerAsTheirPhone() async throws {
        try await Self.with { api, waha in
            waha.knowLID("123123123", phone: "5214771234567@c.us")
            #expect(try await Self.post(api, try Self.message()).status == 200)
            let fromLID = try Self.message {
                $0["id"] = "false_123123123@lid_3EB0BBBB"
                $0["from"] = "123123123@lid"
                $0["body"] = "sigo sin poder imprimir"
            }
            #expect(try await Self.post(api, fromLID).status == 200)
            let identities = try await Self.rows(
                api, "SELECT kind, value, customer_id FROM customer_identities ORDER BY kind")
            #expect(
                identities.map { "\($0["kind"] as String)=\($0["value"] as String)" } == [
                    "lid=123123123", "phone=524771234567",
                ])
            #expect(Set(identities.map { $0["customer_id"] as Int64 }).count == 1)
            #expect(try await Self.rows(api, "SELECT id FROM tickets").count == 1)
            // It answers where the customer last wrote from.
            #expect(
                try await Self.rows(api, "SELECT reply_address FROM tickets").first?["reply_address"] as String?
                    == "123123123@lid")

            // An @lid WAHA cannot resolve is a customer of its own until it can.
            let unknown = try Self.message {
                $0["id"] = "false_999999999@lid_3EB0CCCC"
                $0["from"] = "999999999@lid"
            }
            #expect(try await Self.post(api, unknown).status == 200)
            #expect(try await Self.rows(api, "SELECT id FROM tickets").count == 2)
        }
    }

    @Test func aFileWAHADownloadedIsFetchedFromTheConfiguredWAHAOnly() async throws {
        try await Self.with { api, waha in
            let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 9, count: 400)
            let name = "false_5214771234567@c.us_3EB0DDDD.jpg"
            waha.addFile(name, bytes: jpeg)
            var event = try Fixtures.json("waha/event_message_with_media_image.jsonc")
            var payload = event["payload"] as! [String: Any]
            payload["id"] = "false_5214771234567@c.us_3EB0DDDD"
            payload["from"] = "5214771234567@c.us"
            // As documented: WAHA names itself `localhost:3000`; the api fetches the path from the WAHA it knows.
            payload["media"] = [
                "url": "http://localhost:3000/api/files/\(name)", "mimetype": "image/jpeg", "filename": NSNull(),
                "error": NSNull(),
            ]
            event["payload"] = payload
            #expect(try await Self.post(api, try Fixtures.data(event)).status == 200)
            let stored = try await Self.rows(
                api,
                "SELECT m.content, a.size FROM messages m JOIN attachments a ON a.message_id = m.id WHERE m.role = 'user'"
            )
            #expect(stored.first?["content"] as String? == "Check this out (caption for the media)!")
            #expect(stored.first?["size"] as Int? == jpeg.count)
            #expect(waha.fileRequests == 1)

            // The documented PDF sample (no `hasMedia`, no body), its file gone: kept as text, nothing lost.
            var document = try Fixtures.json("waha/event_message_with_media_document.jsonc")
            var documentPayload = document["payload"] as! [String: Any]
            documentPayload["id"] = "false_5214771234567@c.us_3EB0EEEE"
            documentPayload["from"] = "5214771234567@c.us"
            document["payload"] = documentPayload
            #expect(try await Self.post(api, try Fixtures.data(document)).status == 200)
            let text = try await Self.rows(
                api, "SELECT content FROM messages WHERE external_id = 'false_5214771234567@c.us_3EB0EEEE'")
            #expect(text.first?["content"] as String? == "📎 Archivo (no descargado)")
        }
    }

    @Test func acksMoveTheTechniciansMessageAndEventsOfOtherSessionsAreIgnored() async throws {
        try await Self.with { api, _ in
            #expect(try await Self.post(api, try Self.message()).status == 200)
            let ticket = try #require(try await Self.rows(api, "SELECT id FROM tickets").first?["id"] as Int64?)
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: try await api.admin(),
                json: ["mensaje": "Listo"])
            let command = try #require(try await api.relaySends().last)
            let wahaID = "true_5214771234567@c.us_4CC5EDD64BC22EBA6D639F2AF571346C"
            try await api.components.conversations.applyDelivery(
                DeliveryUpdated(
                    ticketID: command.ticketID, messageID: command.messageID, status: .sent, attempt: 1,
                    providerMessageID: wahaID),
                amqpMessageID: UUID().uuidString, consumer: "test")
            func status() async throws -> (String?, String?) {
                let row = try await Self.rows(
                    api, "SELECT delivery_status, delivery_error FROM messages WHERE id = \(command.messageID)")
                return (row.first?["delivery_status"], row.first?["delivery_error"])
            }
            func ack(_ value: Int, _ name: String, session: String = "default") throws -> Data {
                var event = try Fixtures.json("waha/event_message.ack.jsonc")
                var payload = event["payload"] as! [String: Any]
                payload["id"] = wahaID
                payload["ack"] = value
                payload["ackName"] = name
                event["payload"] = payload
                event["session"] = session
                return try Fixtures.data(event)
            }
            #expect(try await Self.post(api, try ack(2, "DEVICE", session: "otra")).status == 200)
            #expect(try await status().0 == "sent")
            #expect(try await Self.post(api, try ack(2, "DEVICE")).status == 200)
            #expect(try await status().0 == "delivered")
            #expect(try await Self.post(api, try ack(3, "READ")).status == 200)
            #expect(try await status().0 == "read")
            #expect(try await Self.post(api, try ack(1, "SERVER")).status == 200)
            #expect(try await status().0 == "read")

            let session = try await Self.post(
                api, try Fixtures.data(try Fixtures.json("waha/event_session.status.jsonc")))
            #expect(session.status == 200)
            #expect(try session.json()["ignorado"] as? String == "session.status")
            let garbage = try await Self.post(api, Data(#"{"payload": 5}"#.utf8))
            #expect(garbage.status == 400)
        }
    }
}

/// The Evolution API webhook, fed events shaped as Evolution's source builds them (`evolution/NOTES.md`: no
/// captured webhook body exists), authenticated by a static bearer token or Evolution's own JWT.
@Suite struct EvolutionWebhookTests {
    static let token = "token-del-webhook"
    static let jwtKey = "clave-jwt-de-evolution"

    static func with(_ body: @Sendable (APITestSystem, FakeGateway) async throws -> Void) async throws {
        let evolution = try await FakeGateway(session: "soporte")
        defer { evolution.stop() }
        try await APITestSystem.with(configure: {
            $0.evolutionWebhookToken = token
            $0.evolutionJWTKey = jwtKey
            $0.gateways.evolution = .init(url: evolution.url, apiKey: evolution.apiKey, session: "soporte")
        }) { api in try await body(api, evolution) }
    }

    static func post(_ api: APITestSystem, _ object: [String: Any], authorization: String? = "Bearer \(token)")
        async throws -> APITestSystem.Reply
    {
        try await api.call(.post, "/webhooks/evolution", authorization: authorization, body: try Fixtures.data(object))
    }

    /// `messages.upsert` as `prepareMessage` builds it (whatsapp.baileys.service.ts), envelope as
    /// webhook.controller.ts sends it.
    static func upsert(
        id: String = "3EB0A0C1D2E3F4", remoteJid: String, remoteJidAlt: String? = nil, text: String = "No enciende",
        message: [String: Any]? = nil, instance: String = "soporte"
    ) -> [String: Any] {
        var key: [String: Any] = ["remoteJid": remoteJid, "fromMe": false, "id": id]
        if let remoteJidAlt {
            key["remoteJidAlt"] = remoteJidAlt
            key["addressingMode"] = remoteJid.hasSuffix("@lid") ? "lid" : "pn"
        }
        return [
            "event": "messages.upsert", "instance": instance,
            "destination": "https://mostrador.example/webhooks/evolution",
            "date_time": "2026-12-01T10:00:00.000Z", "sender": "5215550000000@s.whatsapp.net",
            "server_url": "http://evolution:8080",
            "data": [
                "key": key, "pushName": "José Ramírez", "status": "DELIVERY_ACK",
                "message": message ?? ["conversation": text], "messageType": "conversation",
                "messageTimestamp": 1_764_583_200, "instanceId": "b8f5", "source": "android",
            ] as [String: Any],
        ]
    }

    @Test func onlyTheConfiguredTokenOrAValidJWTGetsIn() async throws {
        try await Self.with { api, _ in
            let event = Self.upsert(remoteJid: "5214771234567@s.whatsapp.net")
            let now = api.components.conversations.clock.now()
            let refused: [(String, String?)] = [
                ("none", nil), ("wrong token", "Bearer otro"),
                ("jwt other key", "Bearer " + EvolutionWebhookController.jwt(key: "otra", issuedAt: now)),
                ("jwt expired", "Bearer " + EvolutionWebhookController.jwt(key: Self.jwtKey, issuedAt: now - 3600)),
                ("alg none", "Bearer eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9."),
            ]
            for (label, authorization) in refused {
                let reply = try await Self.post(api, event, authorization: authorization)
                #expect(reply.status == 401, Comment(rawValue: label))
            }
            #expect(try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") } == 0)
            let jwt = "Bearer " + EvolutionWebhookController.jwt(key: Self.jwtKey, issuedAt: now)
            #expect(try await Self.post(api, event, authorization: jwt).status == 200)
            #expect(
                try await Self.post(api, Self.upsert(id: "otro", remoteJid: "5214771234567@s.whatsapp.net")).status
                    == 200)
            #expect(
                try await api.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE role = 'user'")
                } == 2)
        }
        try await APITestSystem.with { api in
            let reply = try await Self.post(api, Self.upsert(remoteJid: "5214771234567@s.whatsapp.net"))
            #expect(reply.status == 401)
        }
    }

    @Test func phoneAndLIDAreOneCustomerWhicheverWayTheVersionSendsThem() async throws {
        try await Self.with { api, _ in
            // 2.3.6: remoteJid is the @lid, the phone in remoteJidAlt.
            #expect(
                try await Self.post(
                    api, Self.upsert(id: "A1", remoteJid: "88776655@lid", remoteJidAlt: "5214771234567@s.whatsapp.net")
                ).status == 200)
            // 2.4.0: swapped.
            #expect(
                try await Self.post(
                    api, Self.upsert(id: "A2", remoteJid: "5214771234567@s.whatsapp.net", remoteJidAlt: "88776655@lid")
                ).status == 200)
            // 2.3.7: both the phone; then a bare @lid (the phone hidden).
            #expect(
                try await Self.post(
                    api,
                    Self.upsert(
                        id: "A3", remoteJid: "5214771234567@s.whatsapp.net",
                        remoteJidAlt: "5214771234567@s.whatsapp.net")
                ).status == 200)
            #expect(try await Self.post(api, Self.upsert(id: "A4", remoteJid: "88776655@lid")).status == 200)
            let rows = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT kind, value, customer_id FROM customer_identities ORDER BY kind")
            }
            #expect(
                rows.map { "\($0["kind"] as String)=\($0["value"] as String)" } == [
                    "lid=88776655", "phone=524771234567",
                ])
            #expect(Set(rows.map { $0["customer_id"] as Int64 }).count == 1)
            let tickets = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT reply_address, reply_channel FROM tickets")
            }
            #expect(tickets.count == 1)
            #expect(tickets.first?["reply_channel"] as String? == "evolution")
            #expect(
                try await api.pool.read { db in try String.fetchOne(db, sql: "SELECT name FROM customers") }
                    == "José Ramírez")

            // Our own messages, groups and other instances are not customers.
            var own = Self.upsert(id: "B1", remoteJid: "5214771234567@s.whatsapp.net")
            var data = own["data"] as! [String: Any]
            var key = data["key"] as! [String: Any]
            key["fromMe"] = true
            data["key"] = key
            own["data"] = data
            for event in [
                own, Self.upsert(id: "B2", remoteJid: "1203630@g.us"),
                Self.upsert(id: "B3", remoteJid: "5214771234567@s.whatsapp.net", instance: "otra"),
            ] {
                #expect(try await Self.post(api, event).status == 200)
            }
            #expect(
                try await api.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE role = 'user'")
                } == 4)
        }
    }

    @Test func photosComeFromTheEventOrFromEvolution() async throws {
        try await Self.with { api, evolution in
            let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 3, count: 300)
            let inEvent = Self.upsert(
                id: "C1", remoteJid: "5214771234567@s.whatsapp.net",
                message: [
                    "imageMessage": ["mimetype": "image/jpeg", "caption": "así se ve"],
                    "base64": Data(jpeg).base64EncodedString(),
                ])
            #expect(try await Self.post(api, inEvent).status == 200)
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 5, count: 300)
            evolution.addFile("C2", bytes: png)
            let fetched = Self.upsert(
                id: "C2", remoteJid: "5214771234567@s.whatsapp.net",
                message: ["imageMessage": ["mimetype": "image/png"]])
            #expect(try await Self.post(api, fetched).status == 200)
            let stored = try await api.pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT m.content, a.mime, a.size FROM messages m JOIN attachments a ON a.message_id = m.id
                        ORDER BY m.id
                        """)
            }
            #expect(stored.map { $0["content"] as String } == ["así se ve", "📷 Foto"])
            #expect(stored.map { $0["size"] as Int } == [jpeg.count, png.count])
            #expect(evolution.fileRequests == 1)
        }
    }

    @Test func updatesMoveTheTechniciansMessage() async throws {
        try await Self.with { api, _ in
            #expect(try await Self.post(api, Self.upsert(remoteJid: "5214771234567@s.whatsapp.net")).status == 200)
            let ticket = try #require(
                try await api.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM tickets") })
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: try await api.admin(),
                json: ["mensaje": "Listo"])
            let command = try #require(try await api.relaySends().last)
            #expect(command.channel == "evolution")
            try await api.components.conversations.applyDelivery(
                DeliveryUpdated(
                    ticketID: command.ticketID, messageID: command.messageID, status: .sent, attempt: 1,
                    providerMessageID: "BAE594145F4C59B4"),
                amqpMessageID: UUID().uuidString, consumer: "test")
            for (status, expected) in [("DELIVERY_ACK", "delivered"), ("READ", "read"), ("SERVER_ACK", "read")] {
                let update: [String: Any] = [
                    "event": "messages.update", "instance": "soporte",
                    "data": [
                        "keyId": "BAE594145F4C59B4", "remoteJid": "5214771234567@s.whatsapp.net", "fromMe": true,
                        "status": status, "instanceId": "b8f5",
                    ],
                ]
                #expect(try await Self.post(api, update).status == 200)
                let current = try await api.pool.read { db in
                    try String.fetchOne(
                        db, sql: "SELECT delivery_status FROM messages WHERE id = ?", arguments: [command.messageID])
                }
                #expect(current == expected, Comment(rawValue: status))
            }
        }
    }
}
