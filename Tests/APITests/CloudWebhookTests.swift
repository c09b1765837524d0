import Crypto
import Foundation
import HTTPTypes
import MostradorContracts
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// Meta's WhatsApp Cloud API webhook, fed the verbatim samples of `../shared/channels/meta-cloud/` (copied to
/// `Tests/Fixtures/meta-cloud/`), signed as Meta signs them.
@Suite struct CloudWebhookTests {
    static let appSecret = "cloud-app-secret"
    static let verifyToken = "token-de-verificacion"

    static func with<T: Sendable>(_ body: @Sendable (APITestSystem) async throws -> T) async throws -> T {
        try await APITestSystem.with(configure: {
            $0.cloudAppSecret = appSecret
            $0.cloudVerifyToken = verifyToken
        }) { api in try await body(api) }
    }

    /// A sample file from `Tests/Fixtures/meta-cloud/`.
    static func fixture(_ path: String) throws -> Data {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return try Data(contentsOf: root.appendingPathComponent("Fixtures/meta-cloud/\(path)"))
    }

    /// A sample with some of its fields changed (the message id, the text, a status's message id…).
    static func fixture(_ path: String, _ change: (inout [String: Any]) -> Void) throws -> Data {
        let object = try JSONSerialization.jsonObject(with: try fixture(path)) as! [String: Any]
        var value =
            ((object["entry"] as! [[String: Any]])[0]["changes"] as! [[String: Any]])[0]["value"]
            as! [String: Any]
        change(&value)
        let envelope: [String: Any] = [
            "object": object["object"]!,
            "entry": [["id": "1", "changes": [["field": "messages", "value": value]]]],
        ]
        return try JSONSerialization.data(withJSONObject: envelope)
    }

    static func signature(_ body: Data, secret: String = appSecret) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    static func post(_ api: APITestSystem, _ body: Data, signature: String? = nil) async throws
        -> APITestSystem.Reply
    {
        var headers: HTTPFields = [:]
        headers[CloudWebhookController.signatureHeader] = signature ?? Self.signature(body)
        return try await api.call(.post, "/webhooks/whatsapp-cloud", body: body, headers: headers)
    }

    static func message(_ value: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
        var messages = value["messages"] as! [[String: Any]]
        change(&messages[0])
        value["messages"] = messages
    }

    // MARK: Verification

    @Test func theHandshakeAnswersTheChallengeOnlyToTheRightToken() async throws {
        try await Self.with { api in
            let good = try await api.call(
                .get,
                "/webhooks/whatsapp-cloud?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=\(Self.verifyToken)"
            )
            #expect(good.status == 200)
            #expect(good.text == "1158201444")
            #expect(good.headers[.contentType]?.hasPrefix("text/plain") == true)
            for query in [
                "hub.mode=subscribe&hub.challenge=1&hub.verify_token=otro",
                "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=\(Self.verifyToken)",
                "hub.challenge=1&hub.verify_token=\(Self.verifyToken)",
                "hub.mode=subscribe&hub.verify_token=\(Self.verifyToken)",
                "hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=\(Self.verifyToken)",
            ] {
                let refused = try await api.call(.get, "/webhooks/whatsapp-cloud?\(query)")
                #expect(refused.status == 403, Comment(rawValue: query))
                #expect(refused.failure?.detail?.isEmpty == false)
            }
        }
        // Without a configured verify token nothing verifies.
        try await APITestSystem.with { api in
            let refused = try await api.call(
                .get, "/webhooks/whatsapp-cloud?hub.mode=subscribe&hub.challenge=1&hub.verify_token=")
            #expect(refused.status == 403)
        }
    }

    // MARK: Signature

    @Test func unsignedForgedOrTamperedBatchesAreRefusedAndStoreNothing() async throws {
        try await Self.with { api in
            let body = try Self.fixture("inbound/text.pywa.json")
            var tampered = body
            tampered[tampered.count / 2] ^= 0x01
            for (label, payload, signature) in [
                ("missing", body, ""),
                ("wrong secret", body, Self.signature(body, secret: "otro-secreto")),
                ("tampered body", tampered, Self.signature(body)),
                ("not hex", body, "sha256=zz"),
                ("other scheme", body, "sha1=" + String(repeating: "0", count: 40)),
            ] {
                let reply = try await Self.post(api, payload, signature: signature)
                #expect(reply.status == 401, Comment(rawValue: label))
                #expect(reply.failure?.detail?.contains("X-Hub-Signature-256") == true, Comment(rawValue: label))
            }
            let stored = try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") }
            #expect(stored == 0)
        }
        // Without the App Secret the webhook takes nothing, however it is signed.
        try await APITestSystem.with { api in
            let body = try Self.fixture("inbound/text.pywa.json")
            #expect(try await Self.post(api, body).status == 401)
        }
    }

    @Test func theSignatureCoversTheRawBytesNotARereadingOfThem() async throws {
        try await Self.with { api in
            // Meta sends non-ASCII text as \u escapes: the HMAC is over those bytes, exactly.
            let body = try Self.fixture("inbound/text.pywa.json") {
                Self.message(&$0) { $0["text"] = ["body": "Mi impresora no imprime"] }
            }
            var text = String(decoding: body, as: UTF8.self)
            text = text.replacingOccurrences(of: "no imprime", with: "no enciende \\u00f1and\\u00fa")
            let escaped = Data(text.utf8)
            let reply = try await Self.post(api, escaped)
            #expect(reply.status == 200, Comment(rawValue: reply.text))
            let content = try await api.pool.read { db in
                try String.fetchOne(db, sql: "SELECT content FROM messages WHERE role = 'user'")
            }
            #expect(content == "Mi impresora no enciende ñandú")
        }
    }

    @Test func malformedAndOversizedBatchesGetAClearError() async throws {
        try await Self.with { api in
            let garbage = Data("{\"object\": \"whatsapp_business_account\", \"entry\": [".utf8)
            let malformed = try await Self.post(api, garbage)
            #expect(malformed.status == 400)
            #expect(malformed.failure?.detail?.contains("WhatsApp Cloud") == true)
            let huge = Data(repeating: UInt8(ascii: " "), count: CloudWebhookController.bodyLimit + 1)
            #expect(try await Self.post(api, huge).status == 413)
            let other = try await Self.post(api, Data(#"{"object": "page", "entry": []}"#.utf8))
            #expect(other.status == 200)
            #expect(try other.json()["ignorado"] as? String == "page")
        }
    }

    // MARK: Messages

    @Test func aCustomerMessageOpensATicketThatAnswersThroughTheCloudAPI() async throws {
        try await Self.with { api in
            let reply = try await Self.post(api, try Self.fixture("inbound/text.pywa.json"))
            #expect(reply.status == 200, Comment(rawValue: reply.text))
            #expect(try reply.json()["mensajes"] as? Int == 1)
            let ticket = try #require(
                try await api.pool.read { db in
                    try Row.fetchOne(db, sql: "SELECT id, reply_address, reply_channel, customer_id FROM tickets")
                })
            #expect(ticket["reply_address"] as String? == "972987654321")
            #expect(ticket["reply_channel"] as String? == "cloud")
            let customer = try #require(
                try await api.pool.read { db in
                    try Row.fetchOne(
                        db, sql: "SELECT name FROM customers WHERE id = ?", arguments: [ticket["customer_id"] as Int64])
                })
            #expect(customer["name"] as String? == "Test Name")
            // The phone and the business-scoped user id are the same person.
            let identities = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT kind, value, customer_id FROM customer_identities ORDER BY kind")
                    .map { "\($0["kind"] as String)=\($0["value"] as String)" }
            }
            #expect(identities == ["bsuid=US.13491208655302741918", "phone=972987654321"])
            let created = try #require(try await api.outbox(TicketCreated.self).first)
            #expect(created.replyChannel == "cloud")

            // The technician's answer goes back through the Cloud API, to the phone.
            let admin = try await api.admin()
            let sent = try await api.call(
                .post, "/ticket/\(ticket["id"] as Int64)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "Hola, ¿qué equipo es?"])
            #expect([200, 504].contains(sent.status), Comment(rawValue: sent.text))
            let command = try #require(try await api.relaySends().last { $0.text == "Hola, ¿qué equipo es?" })
            #expect(command.channel == "cloud")
            #expect(command.recipient == "972987654321")
        }
    }

    @Test func metaRetriesAreStoredOnce() async throws {
        try await Self.with { api in
            let body = try Self.fixture("inbound/text.pywa.json")
            for _ in 0..<3 { #expect(try await Self.post(api, body).status == 200) }
            let counts = try await api.pool.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE role = 'user'"),
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tickets")
                )
            }
            #expect(counts.0 == 1)
            #expect(counts.1 == 1)
        }
    }

    @Test func aUsernameUserWithoutPhoneIsKeyedByTheirBSUIDAndStaysOneCustomer() async throws {
        try await Self.with { api in
            // A username user: no `from`, no `wa_id` (NOTES.md §4).
            let anonymous = try Self.fixture("inbound/text_bsuid_username.whatsapp-api-js-v25.json") { value in
                Self.message(&value) { $0["from"] = nil }
                var contacts = value["contacts"] as! [[String: Any]]
                contacts[0]["wa_id"] = nil
                value["contacts"] = contacts
            }
            #expect(try await Self.post(api, anonymous).status == 200)
            let first = try #require(
                try await api.pool.read { db in
                    try Row.fetchOne(db, sql: "SELECT id, customer_id, reply_address FROM tickets")
                })
            #expect(first["reply_address"] as String? == "US.13491208655302741918")
            let admin = try await api.admin()
            _ = try await api.call(
                .post, "/ticket/\(first["id"] as Int64)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "¿Nos comparte su número de serie?"])
            #expect(try await api.relaySends().last?.recipient == "US.13491208655302741918")

            // Later the same person writes with their phone visible: same customer, same ticket, replies to the phone.
            let withPhone = try Self.fixture("inbound/text_bsuid_username.whatsapp-api-js-v25.json") { value in
                Self.message(&value) { $0["id"] = "wamid.segundo" }
            }
            #expect(try await Self.post(api, withPhone).status == 200)
            let tickets = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, customer_id, reply_address FROM tickets")
            }
            #expect(tickets.count == 1)
            #expect(tickets.first?["reply_address"] as String? == "16315551181")
            let owners = try await api.pool.read { db in
                try Set(Int64.fetchAll(db, sql: "SELECT customer_id FROM customer_identities"))
            }
            #expect(owners == [first["customer_id"] as Int64])
        }
    }

    @Test func mediaReactionsAndUnsupportedMessagesReadAsTextAndARemovedReactionIsDropped() async throws {
        try await Self.with { api in
            let samples: [(String, String?)] = [
                ("inbound/image.pywa.json", "📷 Foto"),
                (
                    "inbound/unsupported_with_errors.pywa.json",
                    "[Mensaje de WhatsApp no compatible: unsupported (código 131051)]"
                ),
                ("inbound/reaction.pywa.json", nil),
            ]
            for (index, (path, expected)) in samples.enumerated() {
                let body = try Self.fixture(path) { value in Self.message(&value) { $0["id"] = "wamid.muestra\(index)" }
                }
                let reply = try await Self.post(api, body)
                #expect(reply.status == 200, Comment(rawValue: "\(path): \(reply.text)"))
                let stored = try await api.pool.read { db in
                    try String.fetchOne(
                        db, sql: "SELECT content FROM messages WHERE external_id = ?",
                        arguments: ["wamid.muestra\(index)"])
                }
                if let expected {
                    #expect(stored == expected, Comment(rawValue: path))
                } else {
                    #expect(stored?.hasPrefix("Reaccionó con") == true, Comment(rawValue: path))
                }
            }
            let removed = try Self.fixture("inbound/reaction.pywa.json") { value in
                Self.message(&value) {
                    $0["id"] = "wamid.quitada"
                    $0["reaction"] = ["message_id": "wamid.x", "emoji": ""]
                }
            }
            let reply = try await Self.post(api, removed)
            #expect(reply.status == 200)
            #expect(try reply.json()["mensajes"] as? Int == 0)
        }
    }

    @Test func aPhotoIsDownloadedFromMetaAndStoredAsEvidence() async throws {
        let graph = try await FakeCloudAPI()
        defer { graph.stop() }
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 7, count: 500)
        graph.addMedia("65463453", bytes: jpeg)
        try await APITestSystem.with(configure: {
            $0.cloudAppSecret = Self.appSecret
            $0.gateways.cloud = .init(apiURL: graph.url, token: graph.token)
        }) { api in
            let photo = try Self.fixture("inbound/image.pywa.json") { value in
                Self.message(&value) {
                    $0["image"] = [
                        "mime_type": "image/jpeg", "sha256": "x", "id": "65463453", "caption": "la pantalla",
                    ]
                }
            }
            #expect(try await Self.post(api, photo).status == 200)
            let stored = try #require(
                try await api.pool.read { db in
                    try Row.fetchOne(
                        db,
                        sql: """
                            SELECT m.content, m.type, a.size, a.mime FROM messages m
                            JOIN attachments a ON a.message_id = m.id WHERE m.role = 'user'
                            """)
                })
            #expect(stored["content"] as String? == "la pantalla")
            #expect(stored["type"] as String? == "image")
            #expect(stored["size"] as Int? == jpeg.count)
            #expect(graph.mediaDownloads == 1)

            // A file Meta no longer has (or that cannot be fetched) keeps its line of text: nothing is lost.
            let gone = try Self.fixture("inbound/image.pywa.json") { value in
                Self.message(&value) {
                    $0["id"] = "wamid.sinarchivo"
                    $0["image"] = ["mime_type": "image/jpeg", "sha256": "x", "id": "999"]
                }
            }
            #expect(try await Self.post(api, gone).status == 200)
            let text = try await api.pool.read { db in
                try String.fetchOne(db, sql: "SELECT content FROM messages WHERE external_id = 'wamid.sinarchivo'")
            }
            #expect(text == "📷 Foto")
        }
    }

    // MARK: Statuses

    /// A ticket from the Cloud API with one technician message the relay reported `sent` as `wamid`.
    static func sentMessage(_ api: APITestSystem, wamid: String, report: Bool = true) async throws -> Int64 {
        #expect(try await post(api, try fixture("inbound/text.pywa.json")).status == 200)
        let ticket = try #require(
            try await api.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM tickets") })
        _ = try await api.call(
            .post, "/ticket/\(ticket)/enviar-mensaje", authorization: try await api.admin(),
            json: ["mensaje": "Su equipo está listo"])
        let command = try #require(try await api.relaySends().last)
        if report {
            try await api.components.conversations.applyDelivery(
                DeliveryUpdated(
                    ticketID: command.ticketID, messageID: command.messageID, status: .sent, attempt: 1,
                    providerMessageID: wamid),
                amqpMessageID: UUID().uuidString, consumer: "test")
        }
        return command.messageID
    }

    static func status(_ api: APITestSystem, of message: Int64) async throws -> (DeliveryStatus?, String?) {
        try await api.pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT delivery_status, delivery_error FROM messages WHERE id = ?", arguments: [message])
            return (row?["delivery_status"], row?["delivery_error"])
        }
    }

    static func statusBody(_ path: String, wamid: String) throws -> Data {
        try fixture(path) { value in
            var statuses = value["statuses"] as! [[String: Any]]
            statuses[0]["id"] = wamid
            value["statuses"] = statuses
        }
    }

    @Test func deliveredThenReadShowOnTheTechniciansMessageAndNeverGoBack() async throws {
        try await Self.with { api in
            let message = try await Self.sentMessage(api, wamid: "wamid.entregado")
            #expect(try await Self.status(api, of: message).0 == .sent)
            #expect(
                try await Self.post(api, try Self.statusBody("statuses/delivered.pywa.json", wamid: "wamid.entregado"))
                    .status == 200)
            #expect(try await Self.status(api, of: message).0 == .delivered)
            #expect(
                try await Self.post(api, try Self.statusBody("statuses/read.pywa.json", wamid: "wamid.entregado"))
                    .status == 200)
            #expect(try await Self.status(api, of: message).0 == .read)
            // Out of order (Meta does not promise order): a late `delivered` or `sent` does not undo `read`.
            _ = try await Self.post(api, try Self.statusBody("statuses/delivered.pywa.json", wamid: "wamid.entregado"))
            _ = try await Self.post(api, try Self.statusBody("statuses/sent.pywa.json", wamid: "wamid.entregado"))
            #expect(try await Self.status(api, of: message).0 == .read)
            // The panel hears of each change.
            let announced = api.live.recorded.filter { $0.kind == .delivery && $0.messageID == message }
            #expect(announced.count >= 3)
        }
    }

    @Test func aFailedStatusAfterSentShowsFailedWithMetasReason() async throws {
        try await Self.with { api in
            let message = try await Self.sentMessage(api, wamid: "wamid.fallido")
            #expect(
                try await Self.post(api, try Self.statusBody("statuses/failed.pywa.json", wamid: "wamid.fallido"))
                    .status == 200)
            let (status, reason) = try await Self.status(api, of: message)
            #expect(status == .failed)
            #expect(reason?.contains("130472") == true)
            #expect(reason?.contains("experiment") == true)
        }
    }

    @Test func theTwentyFourHourWindowFailureSaysSo() async throws {
        try await Self.with { api in
            let message = try await Self.sentMessage(api, wamid: "wamid.ventana")
            let body = try Self.fixture("statuses/failed.pywa.json") { value in
                var statuses = value["statuses"] as! [[String: Any]]
                statuses[0]["id"] = "wamid.ventana"
                statuses[0]["errors"] = [
                    [
                        "code": 131047, "title": "Re-engagement message",
                        "message": "Re-engagement message",
                        "error_data": [
                            "details":
                                "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
                        ],
                    ]
                ]
                value["statuses"] = statuses
            }
            #expect(try await Self.post(api, body).status == 200)
            let (status, reason) = try await Self.status(api, of: message)
            #expect(status == .failed)
            #expect(reason?.hasPrefix("fuera de la ventana de 24 h") == true)
        }
    }

    @Test func aStatusThatOvertakesTheRelaysReportIsAppliedWhenTheReportArrives() async throws {
        try await Self.with { api in
            let message = try await Self.sentMessage(api, wamid: "wamid.rapido", report: false)
            #expect(
                try await Self.post(api, try Self.statusBody("statuses/delivered.pywa.json", wamid: "wamid.rapido"))
                    .status == 200)
            #expect(try await Self.status(api, of: message).0 != .delivered)
            let command = try #require(try await api.relaySends().last)
            try await api.components.conversations.applyDelivery(
                DeliveryUpdated(
                    ticketID: command.ticketID, messageID: command.messageID, status: .sent, attempt: 1,
                    providerMessageID: "wamid.rapido"),
                amqpMessageID: UUID().uuidString, consumer: "test")
            #expect(try await Self.status(api, of: message).0 == .delivered)
            let left = try await api.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM channel_statuses")
            }
            #expect(left == 0)
        }
    }
}
