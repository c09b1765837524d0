import Foundation
import MostradorContracts
import MostradorSQL
import Testing

@testable import MostradorAPI

/// What a bridge may add to seed 004's webhook (the Mostrador WhatsApp bridge does): the sender's other address
/// (`remitente_alt`) and delivery receipts (`"tipo": "estado"`). A seed-era bridge sends neither and is unaffected.
@Suite struct SeedBridgeExtensionTests {
    static func webhook(_ api: APITestSystem, _ body: [String: Any]) async throws -> APITestSystem.Reply {
        try await api.call(
            .post, "/webhook", authorization: "Bearer \(APITestSystem.webhookToken)", json: body)
    }

    @Test func aLIDSenderWithItsPhoneAlternativeLandsOnTheCustomersTicket() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp("5214771234567@s.whatsapp.net", "mi laptop no enciende", name: "José")
            let fromLID = try await Self.webhook(
                api,
                [
                    "remitente": "88776655443322@lid", "remitente_alt": "5214771234567@s.whatsapp.net",
                    "contenido": "¿alguna novedad?", "id_mensaje": "3EB0LID1",
                ])
            #expect(fromLID.status == 200, Comment(rawValue: fromLID.text))
            #expect(try fromLID.decode(Answer.Received.self).ticketID == ticket)
            // Later, the LID alone: still the same customer and ticket.
            #expect(try await api.whatsapp("88776655443322@lid", "sigo esperando") == ticket)
            let owners = try await api.pool.read { db in
                try Set(Int64.fetchAll(db, sql: "SELECT customer_id FROM customer_identities"))
            }
            #expect(owners.count == 1)
            // A garbage alternative is ignored, never refused.
            let garbage = try await Self.webhook(
                api, ["remitente": "5214771234567@s.whatsapp.net", "remitente_alt": "<script>", "contenido": "hola"])
            #expect(garbage.status == 200)
        }
    }

    @Test func receiptsMoveTheTechniciansMessageAndBadOnesAreRefused() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp("5214771234567@s.whatsapp.net", "no imprime")
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: try await api.admin(),
                json: ["mensaje": "Ya quedó"])
            let command = try #require(try await api.relaySends().last)
            func status() async throws -> (String?, String?) {
                try await api.pool.read { db in
                    let row = try Row.fetchOne(
                        db, sql: "SELECT delivery_status, delivery_error FROM messages WHERE id = ?",
                        arguments: [command.messageID])
                    return (row?["delivery_status"], row?["delivery_error"])
                }
            }
            // A receipt that beats the relay's report waits for it.
            let early = try await Self.webhook(api, ["tipo": "estado", "id_mensaje": "WA-77", "estado": "delivered"])
            #expect(early.status == 200, Comment(rawValue: early.text))
            #expect(try early.json()["estado"] as? String == "delivered")
            #expect(try await status().0 != "delivered")
            try await api.components.conversations.applyDelivery(
                DeliveryUpdated(
                    ticketID: command.ticketID, messageID: command.messageID, status: .sent, attempt: 1,
                    providerMessageID: "WA-77"),
                amqpMessageID: UUID().uuidString, consumer: "test")
            #expect(try await status().0 == "delivered")
            #expect(
                try await Self.webhook(api, ["tipo": "estado", "id_mensaje": "WA-77", "estado": "leído"]).status == 200)
            #expect(try await status().0 == "read")

            for (body, problem) in [
                (["tipo": "estado", "estado": "read"], "id_mensaje"),
                (["tipo": "estado", "id_mensaje": "WA-77", "estado": "perdido"], "estado"),
            ] {
                let refused = try await Self.webhook(api, body)
                #expect(refused.status == 400)
                #expect(refused.failure?.detail?.contains(problem) == true)
            }
            let unauthenticated = try await api.call(
                .post, "/webhook", json: ["tipo": "estado", "id_mensaje": "WA-77", "estado": "failed"])
            #expect(unauthenticated.status == 401)
            #expect(try await status().0 == "read")
        }
    }
}
