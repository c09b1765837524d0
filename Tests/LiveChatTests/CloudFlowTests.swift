import Foundation
import TestSupport
import Testing

@testable import MostradorAPI

/// The Cloud API channel end to end: real api and relay processes, a real broker, and a real HTTP stand-in for
/// Meta's Graph API; the webhook gets Meta's own sample payloads, signed as Meta signs them.
@Suite("WhatsApp Cloud API, end to end", .serialized)
struct CloudFlowTests {
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
        }
    }
}
