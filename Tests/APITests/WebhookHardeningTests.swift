import Foundation
import HTTPTypes
import MostradorSQL
import NIOCore
import Testing

@testable import MostradorAPI

/// The webhook's defences of the security review (W1, W2, I5 test 11): the HMAC signature with its clock window, the
/// per-sender cap on new tickets, absurd timestamps and oversized bodies.
@Suite("Webhook: signature, new-ticket cap, timestamps, size")
struct WebhookHardeningTests {
    static let key = "test-hmac-key"

    /// A webhook with the bridge's token and, when given, an `X-Mostrador-Signature` header.
    func post(_ api: APITestSystem, body: Data, signature: String?) async throws -> APITestSystem.Reply {
        var headers: HTTPFields = [
            .authorization: "Bearer \(APITestSystem.webhookToken)", .contentType: "application/json",
        ]
        if let signature { headers[HTTPField.Name(WebhookSignature.header)!] = signature }
        let response = try await api.client.execute(
            uri: "/webhook", method: .post, headers: headers, body: ByteBuffer(data: body))
        return APITestSystem.Reply(
            status: Int(response.status.code), body: Data(buffer: response.body), headers: response.headers)
    }

    func messageCount(_ api: APITestSystem) async throws -> Int {
        try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") ?? 0 }
    }

    @Test func signedWebhooksAreAcceptedAndEveryBadSignatureIsA401WithItsReason() async throws {
        try await APITestSystem.with(configure: {
            $0.intake = false
            $0.webhookHMACKey = Self.key
            $0.webhookMaximumSkew = 300
        }) { api in
            let signer = WebhookSignature(key: Self.key)
            let body = Data(#"{"remitente": "5215550001111", "contenido": "hola"}"#.utf8)
            let now = Int64(api.clock.wallClock.now().timeIntervalSince1970)

            let good = try await post(api, body: body, signature: signer.header(for: body, timestamp: now))
            #expect(good.status == 200, "\(good.text)")
            // Within the window, on either side.
            let early = try await post(
                api, body: Data(#"{"remitente": "5215550001111", "contenido": "otra"}"#.utf8),
                signature: signer.header(
                    for: Data(#"{"remitente": "5215550001111", "contenido": "otra"}"#.utf8), timestamp: now + 299))
            #expect(early.status == 200, "\(early.text)")
            #expect(try await messageCount(api) == 2)

            let other = WebhookSignature(key: "another-key")
            let tampered = Data(#"{"remitente": "5215550001111", "contenido": "HOLA"}"#.utf8)
            let cases: [(String, String?, String)] = [
                ("missing", nil, "Falta la cabecera"),
                ("garbage", "hola", "no tiene la forma"),
                ("no v1", "t=\(now)", "no tiene la forma"),
                ("short v1", "t=\(now),v1=abcd", "no tiene la forma"),
                ("stale", signer.header(for: body, timestamp: now - 301), "ventana"),
                ("future", signer.header(for: body, timestamp: now + 301), "ventana"),
                ("wrong key", other.header(for: body, timestamp: now), "no es válida"),
                ("other body", signer.header(for: tampered, timestamp: now), "no es válida"),
                (
                    "timestamp moved",
                    signer.header(for: body, timestamp: now).replacingOccurrences(of: "t=\(now)", with: "t=\(now - 1)"),
                    "no es válida"
                ),
            ]
            for (name, signature, reason) in cases {
                let reply = try await post(api, body: body, signature: signature)
                #expect(reply.status == 401, "\(name): \(reply.status) \(reply.text)")
                #expect(reply.failure?.detail?.contains(reason) == true, "\(name): \(reply.text)")
            }
            #expect(try await messageCount(api) == 2)

            // The window follows the api's clock: the first signature is stale ten minutes later.
            api.clock.advance(by: 600)
            let replayed = try await post(api, body: body, signature: signer.header(for: body, timestamp: now))
            #expect(replayed.status == 401)
            #expect(replayed.failure?.detail?.contains("ventana") == true)
            #expect(try await messageCount(api) == 2)
        }
    }

    @Test func withoutAKeyTheBearerTokenAloneIsEnough() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            let reply = try await post(
                api, body: Data(#"{"remitente": "5215550001111", "contenido": "hola"}"#.utf8), signature: nil)
            #expect(reply.status == 200, "\(reply.text)")
        }
    }

    @Test func signatureHeaderParsingAcceptsSeveralV1AndRefusesMalformedOnes() throws {
        let signer = WebhookSignature(key: Self.key)
        let body = Array("x".utf8)
        let good = signer.header(for: body, timestamp: 1_700_000_000)
        let v1 = String(good.split(separator: ",")[1])
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        // Key rotation: an old signature next to the current one.
        try signer.verify("t=1700000000,v1=\(String(repeating: "0", count: 64)),\(v1)", body: body, now: now)
        try signer.verify("t=1700000000, v0=ignored, \(v1)", body: body, now: now)
        for header in [
            "", "t=,v1=00", "t=-5,\(v1)", "t=1e9,\(v1)", "t=1700000000,t=1700000000,\(v1)", "v1", "t=1,v1=zz",
        ] {
            #expect(throws: WebhookSignature.Problem.self, "\(header)") {
                try signer.verify(header, body: body, now: now)
            }
        }
    }

    @Test func aSenderOpensAtMostNTicketsAnHourButKeepsWritingOnItsOpenTicket() async throws {
        try await APITestSystem.with(configure: {
            $0.intake = false
            $0.webhookNewTicketsPerSenderHour = 1
        }) { api in
            let sender = "5215550002222"
            let first = try await api.whatsapp(sender, "mi laptop no enciende")
            // The open ticket takes every further message, cap or not.
            #expect(try await api.whatsapp(sender, "sigue sin encender") == first)
            try await api.pool.write { db in
                try db.execute(sql: "UPDATE tickets SET status = 'closed' WHERE id = ?", arguments: [first])
            }
            let refused = try await api.call(
                .post, "/webhook", authorization: "Bearer \(APITestSystem.webhookToken)",
                json: ["remitente": sender, "contenido": "otro problema"])
            // 200 so that a retrying bridge does not retry it forever; the body says it was not stored.
            #expect(refused.status == 200)
            let answer = try refused.json()
            #expect(answer["ignored"] as? String == "rate_limited")
            #expect(answer["status"] as? String == "ignorado")
            #expect(answer["ticket_id"] == nil)
            #expect((answer["detail"] as? String)?.contains("1 tickets") == true)
            let tickets = try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tickets") }
            #expect(tickets == 1)
            #expect(try await messageCount(api) == 2)

            // Another sender is not affected.
            #expect(try await api.whatsapp("5215550003333", "hola") != first)

            // Later than an hour after this test's tickets were created (they carry the real time, the window
            // follows the test clock), the sender may open a new ticket again.
            api.clock.advance(by: 7200)
            let second = try await api.whatsapp(sender, "otro problema")
            #expect(second != first)
        }
    }

    @Test func absurdTimestampsAreIgnoredAndTheConversationStillRenders() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            let values: [Any] = [1e300, -1e300, "9999-12-31T23:59:59Z", "garbage", true, ["a": 1], 1_700_000_000]
            var ticket: Int64 = 0
            for (index, value) in values.enumerated() {
                let reply = try await api.call(
                    .post, "/webhook", authorization: "Bearer \(APITestSystem.webhookToken)",
                    json: ["remitente": "5215550004444", "contenido": "mensaje \(index)", "timestamp": value])
                #expect(reply.status == 200, "\(value): \(reply.text)")
                ticket = try reply.decode(Answer.Received.self).ticketID
            }
            let stored = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT external_timestamp FROM messages ORDER BY id").map {
                    $0["external_timestamp"] as Date?
                }
            }
            #expect(stored.count == values.count)
            #expect(stored.dropLast().allSatisfy { $0 == nil })
            #expect(stored.last == Date(timeIntervalSince1970: 1_700_000_000))
            let conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: api.admin())
            #expect(conversation.status == 200, "\(conversation.text)")
            #expect(conversation.text.contains("mensaje 6"))
        }
    }

    @Test func timestampParsingKeepsPlausibleDatesOnly() {
        #expect(FlexibleTimestamp(text: "1700000000").date == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(FlexibleTimestamp(text: "1700000000000").date == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(FlexibleTimestamp(text: "2024-05-01T10:00:00Z").date != nil)
        #expect(FlexibleTimestamp(text: "2024-05-01T10:00:00").date != nil)
        for text in [
            "nan", "inf", "-inf", "1e300", "-1", "9999-12-31T23:59:59Z", "", "garbage",
            String(repeating: "9", count: 400),
        ] {
            #expect(FlexibleTimestamp(text: text).date == nil, "\(text)")
        }
    }

    @Test func aHugeTextWebhookIsA413BeforeItIsDecoded() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            // 22 MB: under the photo limit, so only the text check can refuse it; no `imagen_base64`, so it is
            // refused from its size alone.
            let text = String(repeating: "a", count: 22 << 20)
            let body = Data(#"{"remitente": "5215550005555", "contenido": "\#(text)"}"#.utf8)
            let reply = try await post(api, body: body, signature: nil)
            #expect(reply.status == 413)
            #expect(reply.failure?.detail?.contains("1 MB") == true)
            // Over the photo limit: refused from its length.
            let larger = try await post(api, body: Data(count: (23 << 20) + 1), signature: nil)
            #expect(larger.status == 413)
            #expect(try await messageCount(api) == 0)
        }
    }
}
