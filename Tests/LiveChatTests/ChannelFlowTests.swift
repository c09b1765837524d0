import Foundation
import TestSupport
import Testing

@testable import MostradorAPI

/// The WhatsApp channels end to end: real api and relay processes, a real broker, and real HTTP stand-ins for
/// Meta's Graph API and for WAHA; the webhooks get the channels' own sample payloads, signed as they sign them.
@Suite("WhatsApp channels, end to end", .serialized)
struct ChannelFlowTests {
    static let appSecret = "secreto-de-la-app"

    static func fixture(_ path: String, _ change: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("Fixtures/meta-cloud/\(path)"))
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var entry = (object["entry"] as! [[String: Any]])[0]
        var changes = entry["changes"] as! [[String: Any]]
        var value = changes[0]["value"] as! [String: Any]
        change(&value)
        changes[0]["value"] = value
        entry["changes"] = changes
        object["entry"] = [entry]
        return try JSONSerialization.data(withJSONObject: object)
    }

    static func post(_ system: MostradorSystem, _ body: Data) async throws -> HTTPResult {
        try await HTTP.request(
            "POST", "\(system.baseURL)/webhooks/whatsapp-cloud",
            headers: [
                "Content-Type": "application/json",
                "X-Hub-Signature-256": CloudWebhookController.signature(for: body, secret: appSecret),
            ],
            body: body)
    }

    @Test func aCloudCustomerIsAnsweredThroughTheGraphAPIAndSeesDeliveredThenRead() async throws {
        let graph = try await FakeCloudAPI()
        defer { graph.stop() }
        let environment = [
            "MOSTRADOR_CLOUD_APP_SECRET": Self.appSecret, "MOSTRADOR_CLOUD_VERIFY_TOKEN": "verificar",
            "MOSTRADOR_CLOUD_PHONE_NUMBER_ID": "1122334455667", "MOSTRADOR_CLOUD_TOKEN": graph.token,
            "MOSTRADOR_CLOUD_API_URL": graph.url,
        ]
        try await MostradorSystem.with(environment: environment) { system in
            let handshake = try await HTTP.get(
                "\(system.baseURL)/webhooks/whatsapp-cloud?hub.mode=subscribe&hub.challenge=42&hub.verify_token=verificar"
            )
            #expect(handshake.status == 200)
            #expect(handshake.text == "42")

            let inbound = try await Self.post(system, try Self.fixture("inbound/text.pywa.json"))
            #expect(inbound.status == 200, "\(inbound.text)")
            let tickets = try await system.get("/tickets").decode([TestSupport.TicketSummary].self)
            let ticket = try #require(tickets.first)
            #expect(ticket.nombre == "Test Name")

            let sent = try await system.post(
                "/ticket/\(ticket.id)/enviar-mensaje", json: ["mensaje": "Hola, ¿qué equipo es?"])
            #expect(sent.status == 200, "\(sent.text)")
            // It went through the Graph API, not the seed bridge.
            #expect(system.bridge.requests.isEmpty)
            let request = try #require(graph.received.first)
            #expect(request.phoneNumberID == "1122334455667")
            #expect(request.body["to"] as? String == "972987654321")
            #expect(request.text == "Hola, ¿qué equipo es?")
            var history = try await system.history(ticket.id)
            let reply = try #require(history.last { $0.role == "tecnico" })
            #expect(reply.estadoEntrega == "sent")

            // Meta reports it delivered, then read: the technician sees it.
            let wamid = try #require(graph.sentIDs.first)
            for path in ["statuses/delivered.pywa.json", "statuses/read.pywa.json"] {
                let status = try Self.fixture(path) { value in
                    var statuses = value["statuses"] as! [[String: Any]]
                    statuses[0]["id"] = wamid
                    value["statuses"] = statuses
                }
                #expect(try await Self.post(system, status).status == 200)
                let expected = path.contains("read") ? "read" : "delivered"
                #expect(
                    try await eventually {
                        try await system.history(ticket.id).last { $0.role == "tecnico" }?.estadoEntrega == expected
                    })
            }

            // The Cloud API says the 24-hour window closed: the technician's next message fails, saying why.
            graph.script([.init(status: 400, code: 131047, message: "Re-engagement message")])
            let late = try await system.post("/ticket/\(ticket.id)/enviar-mensaje", json: ["mensaje": "¿Sigue ahí?"])
            #expect(late.status == 502, "\(late.text)")
            #expect(late.text.contains("fuera de la ventana de 24 h"))
            history = try await system.history(ticket.id)
            #expect(history.last?.estadoEntrega == "failed")

            // An approved template still reaches them.
            let registered = try await system.post(
                "/api/templates",
                json: [
                    "nombre": "seguimiento", "idioma": "es_MX", "cuerpo": "Hola {{1}}, ¿pudimos resolver su caso?",
                    "estado": "approved",
                ])
            #expect(registered.status == 201, "\(registered.text)")
            let templateID = try #require(
                (try JSONSerialization.jsonObject(with: Data(registered.text.utf8)) as? [String: Any])?["id"] as? Int)
            let viaTemplate = try await system.post(
                "/ticket/\(ticket.id)/enviar-plantilla", json: ["plantilla_id": templateID, "parametros": ["Test"]])
            #expect(viaTemplate.status == 200, "\(viaTemplate.text)")
            let templateSend = try #require(graph.received.last)
            #expect(templateSend.body["type"] as? String == "template")
            #expect((templateSend.body["template"] as? [String: any Sendable])?["name"] as? String == "seguimiento")
            #expect(try await system.history(ticket.id).last?.content == "Hola Test, ¿pudimos resolver su caso?")
        }
    }

    /// A technician answers a Cloud API customer with a photo from the panel's upload (the seed-003 way: a grant over
    /// the WebSocket, then the file) and replies to the customer's message: Meta gets the upload, then an image
    /// message naming it, then a text that quotes the customer's `wamid`.
    @Test func aTechniciansPhotoAndQuotedReplyReachACloudCustomer() async throws {
        let graph = try await FakeCloudAPI()
        defer { graph.stop() }
        let environment = [
            "MOSTRADOR_CLOUD_APP_SECRET": Self.appSecret, "MOSTRADOR_CLOUD_PHONE_NUMBER_ID": "1122334455667",
            "MOSTRADOR_CLOUD_TOKEN": graph.token, "MOSTRADOR_CLOUD_API_URL": graph.url,
        ]
        try await MostradorSystem.with(environment: environment) { system in
            #expect(try await Self.post(system, try Self.fixture("inbound/text.pywa.json")).status == 200)
            let ticket = try #require(try await system.get("/tickets").decode([TestSupport.TicketSummary].self).first)
            let live = LiveClient(
                url: system.webSocketURL(ticket: String(ticket.id), token: try await system.adminToken()))
            defer { live.close() }
            #expect(await live.wait(for: "connection_established") != nil)
            live.send(
                "file_upload_request", ["nombre_archivo": "diagnostico.png", "tamaño": 900, "tipo_mime": "image/png"])
            let grant = try #require(await live.wait(for: "file_upload_authorized"))
            let url = try #require(grant.data["upload_url"] as? String)
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 800)
            var body = Data("--B\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nAsí quedó\r\n".utf8)
            body.append(
                Data(
                    "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"diagnostico.png\"\r\n\r\n".utf8))
            body.append(Data(png))
            body.append(Data("\r\n--B--\r\n".utf8))
            let uploaded = try await HTTP.request(
                "POST", system.baseURL + url, headers: ["Content-Type": "multipart/form-data; boundary=B"], body: body)
            #expect(uploaded.status == 201, "\(uploaded.text)")
            #expect(
                try await eventually {
                    try await system.history(ticket.id).last { $0.role == "tecnico" }?.estadoEntrega == "sent"
                })
            let upload = try #require(graph.uploads.first)
            #expect(upload.bytes == png)
            #expect(upload.fields["type"] == "image/png")
            let photo = try #require(graph.received.first)
            #expect(photo.body["type"] as? String == "image")
            let image = try #require(photo.body["image"] as? [String: any Sendable])
            #expect(image["id"] as? String == upload.id)
            #expect(image["caption"] as? String == "Así quedó")
            #expect(system.bridge.requests.isEmpty)

            // A reply to the customer's message quotes it on WhatsApp and in the conversation.
            let question = try #require(try await system.history(ticket.id).first { $0.role == "user" }?.id)
            let sent = try await system.post(
                "/ticket/\(ticket.id)/enviar-mensaje", json: ["mensaje": "Sobre esto:", "responde_a": question])
            #expect(sent.status == 200, "\(sent.text)")
            let reply = try #require(graph.received.last)
            #expect(reply.text == "Sobre esto:")
            #expect((reply.body["context"] as? [String: any Sendable])?["message_id"] as? String == "wamid.xyzxyz")
            #expect(try await system.history(ticket.id).last?.respondeA?.id == question)
        }
    }

    @Test func aWAHACustomerIsAnsweredThroughWAHAAndTheAckShowsRead() async throws {
        let waha = try await FakeGateway()
        defer { waha.stop() }
        let key = "clave-hmac"
        let environment = [
            "MOSTRADOR_WAHA_HMAC_KEY": key, "MOSTRADOR_WAHA_URL": waha.url, "MOSTRADOR_WAHA_API_KEY": waha.apiKey,
            "MOSTRADOR_WAHA_SESSION": "default",
        ]
        try await MostradorSystem.with(environment: environment) { system in
            func post(_ object: [String: Any]) async throws -> HTTPResult {
                let body = try JSONSerialization.data(withJSONObject: object)
                return try await HTTP.request(
                    "POST", "\(system.baseURL)/webhooks/waha",
                    headers: [
                        "Content-Type": "application/json",
                        "X-Webhook-Hmac": WAHAWebhookController.signature(for: body, key: key),
                        "X-Webhook-Hmac-Algorithm": "sha512",
                    ],
                    body: body)
            }
            let inbound = try await post([
                "id": "evt_01jq4b0000000000000000000", "event": "message", "session": "default", "engine": "WEBJS",
                "payload": [
                    "id": "false_5214771234567@c.us_3EB0AAAA", "timestamp": 1_764_583_200,
                    "from": "5214771234567@c.us", "fromMe": false, "body": "La impresora no imprime",
                    "hasMedia": false, "ack": 1,
                ] as [String: Any],
            ])
            #expect(inbound.status == 200, "\(inbound.text)")
            let ticket = try #require(try await system.get("/tickets").decode([TestSupport.TicketSummary].self).first)
            let sent = try await system.post(
                "/ticket/\(ticket.id)/enviar-mensaje", json: ["mensaje": "¿Qué modelo es?"])
            #expect(sent.status == 200, "\(sent.text)")
            #expect(system.bridge.requests.isEmpty)
            let request = try #require(waha.received.first)
            #expect(request.path == "/api/sendText")
            #expect(request.body["chatId"] == "5214771234567@c.us")
            let id = try #require(waha.sentIDs.first)
            let ack = try await post([
                "event": "message.ack", "session": "default", "engine": "WEBJS",
                "payload": ["id": id, "from": "5214771234567@c.us", "fromMe": true, "ack": 3, "ackName": "READ"]
                    as [String: Any],
            ])
            #expect(ack.status == 200)
            #expect(
                try await eventually {
                    try await system.history(ticket.id).last { $0.role == "tecnico" }?.estadoEntrega == "read"
                })

            // WAHA's session stops working (a QR to scan): the technician is told, the message waits and goes
            // once the session works again.
            waha.working = false
            waha.script([
                (422, #"{"message": "Session status is not as expected. Try again later or restart the session"}"#)
            ])
            let parked = try await system.post("/ticket/\(ticket.id)/enviar-mensaje", json: ["mensaje": "¿Sigue ahí?"])
            #expect(parked.status == 503, "\(parked.text)")
            waha.working = true
            #expect(await eventually(timeout: .seconds(30)) { waha.sentIDs.count == 2 })
            #expect(waha.received.last?.body["text"] == "¿Sigue ahí?")
            #expect(
                try await eventually {
                    try await system.history(ticket.id).last { $0.role == "tecnico" }?.estadoEntrega == "sent"
                })
        }
    }
}
