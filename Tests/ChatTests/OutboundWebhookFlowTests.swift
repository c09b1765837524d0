import Foundation
import TestSupport
import Testing

/// Outbound webhooks through the running system: the api binds its `api.webhooks` queue to the events an admin's
/// webhook wants, signs each delivery, and a receiver that is down gets the event once it comes back.
@Suite("Outbound webhooks end to end", .serialized)
struct OutboundWebhookFlowTests {
    static let environment = ["MOSTRADOR_OUTBOUND_WEBHOOKS_ALLOW_PRIVATE": "true"]

    @Test func eachEventArrivesOnceSignedAndADownReceiverGetsItWhenItComesBack() async throws {
        try await MostradorSystem.with(environment: Self.environment) { system in
            let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
            let receiver = try await FakeWebhookReceiver(secret: "secreto-del-receptor-1")
            defer { Task { await receiver.stop() } }
            // A second receiver that is down: its port is held without listening, so connections are refused and no
            // other test is given it, until it comes back on that port.
            let absent = try PortReservation()
            let absentPort = absent.port
            let absentURL = "http://127.0.0.1:\(absentPort)/hooks"

            let created = try await system.call(
                "POST", "/api/webhooks", authorization: admin,
                json: [
                    "url": receiver.url, "events": ["ticket.created", "message.created"],
                    "secret": receiver.secret, "description": "CRM",
                ])
            #expect(created.status == 201, Comment(rawValue: created.text))
            let laterOne = try await system.call(
                "POST", "/api/webhooks", authorization: admin,
                json: ["url": absentURL, "events": ["ticket.created"], "secret": "secreto-del-receptor-2"])
            #expect(laterOne.status == 201, Comment(rawValue: laterOne.text))
            let laterID = try #require(try laterOne.json()["id"] as? Int)

            let ticket = try await system.receive([
                "remitente": "5215557770202", "contenido": "la impresora no imprime", "nombre": "Marta",
            ])

            // The first receiver: the ticket and its first message, each once, signed, about this ticket.
            #expect(
                await eventually(timeout: .seconds(20)) {
                    Set(receiver.requests.compactMap(\.event)).isSuperset(of: ["ticket.created", "message.created"])
                })
            try await Task.sleep(for: .seconds(2))
            let requests = receiver.requests
            #expect(requests.allSatisfy { $0.validSignature })
            #expect(Set(requests.compactMap(\.event)).isSubset(of: ["ticket.created", "message.created"]))
            let deliveries = requests.compactMap(\.delivery)
            #expect(Set(deliveries).count == deliveries.count, "an event arrived twice: \(deliveries)")
            let createdEvent = try #require(requests.first { $0.event == "ticket.created" }?.json)
            #expect(createdEvent["event"] as? String == "ticket.created")
            #expect(createdEvent["id"] as? String == requests.first { $0.event == "ticket.created" }?.delivery)
            let data = try #require(createdEvent["data"] as? [String: Any])
            #expect(data["ticket_id"] as? Int == ticket)
            let customerMessage = requests.first {
                (($0.json["data"] as? [String: Any])?["preview"] as? String) == "la impresora no imprime"
            }
            #expect(customerMessage?.event == "message.created")

            // The receiver that was down: its delivery failed and is waiting; once it listens again it gets the
            // ticket once, and the delivery log says so.
            #expect(
                await eventually(timeout: .seconds(10)) {
                    let log = try? await system.call(
                        "GET", "/api/webhooks/\(laterID)/deliveries", authorization: admin
                    ).list()
                    return (log?.first?["attempts"] as? Int ?? 0) >= 1
                })
            absent.release()
            let back = try await FakeWebhookReceiver(secret: "secreto-del-receptor-2", port: absentPort)
            defer { Task { await back.stop() } }
            #expect(await eventually(timeout: .seconds(30)) { back.requests.count == 1 })
            try await Task.sleep(for: .seconds(2))
            #expect(back.requests.count == 1)
            #expect(back.requests.first?.event == "ticket.created")
            #expect(back.requests.first?.validSignature == true)
            let log = try await system.call("GET", "/api/webhooks/\(laterID)/deliveries", authorization: admin).list()
            #expect(log.count == 1)
            #expect(log.first?["delivered"] as? Bool == true)
            #expect((log.first?["attempts"] as? Int ?? 0) >= 2)
            let listed = try await system.call("GET", "/api/webhooks/\(laterID)", authorization: admin).json()
            #expect(listed["last_status"] as? Int == 204)
            #expect(listed["secret"] is NSNull)

            // Deleting the webhooks unbinds the queue: a new ticket reaches nobody.
            for id in [laterID, try #require(try created.json()["id"] as? Int)] {
                #expect(try await system.call("DELETE", "/api/webhooks/\(id)", authorization: admin).status == 204)
            }
            let before = receiver.requests.count
            _ = try await system.receive(["remitente": "5215557770303", "contenido": "otro problema"])
            try await Task.sleep(for: .seconds(2))
            #expect(receiver.requests.count == before)
        }
    }
}
