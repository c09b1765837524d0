import Foundation
import MostradorContracts
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// One person, one customer, whatever WhatsApp calls them: when a channel-verified event shows that a phone and a
/// `@lid` that wrote separately are one person, their two customers become one (tickets, messages and identities),
/// with an audit record and a note the technicians see. A web visitor's claims never take part.
@Suite struct CustomerMergeTests {
    static let phone = "5214771234567"
    static let lid = "123123123123123@lid"

    static func post(_ api: APITestSystem, _ payload: [String: Any]) async throws -> Int64 {
        let reply = try await api.call(
            .post, "/webhook", authorization: "Bearer \(APITestSystem.webhookToken)", json: payload)
        try #require(reply.status == 200, Comment(rawValue: reply.text))
        return try reply.decode(Answer.Received.self).ticketID
    }

    static func customers(_ api: APITestSystem) async throws -> [Row] {
        try await api.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, merged_into FROM customers ORDER BY id")
        }
    }

    @Test func aPhoneAndALIDThatWroteApartAreMergedWhenTheChannelJoinsThem() async throws {
        try await APITestSystem.with { api in
            let first = try await Self.post(
                api, ["remitente": Self.phone, "contenido": "Mi impresora no imprime", "nombre": "Lucía"])
            let second = try await Self.post(
                api, ["remitente": Self.lid, "contenido": "Hola, ¿siguen ahí?", "nombre": "Lucía H."])
            #expect(first != second)
            #expect(try await Self.customers(api).count == 2)

            // The LID writes again and this time the bridge says whose phone it is.
            let third = try await Self.post(
                api, ["remitente": Self.lid, "remitente_alt": Self.phone, "contenido": "Es la HP del segundo piso"])
            let customers = try await Self.customers(api)
            try #require(customers.count == 2)
            let survivor = customers[0]["id"] as Int64
            let merged = customers[1]["id"] as Int64
            #expect(customers[0]["merged_into"] as Int64? == nil)
            #expect(customers[1]["merged_into"] as Int64? == survivor)
            #expect(customers[0]["name"] as String? == "Lucía")

            let tickets = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, customer_id, reply_address FROM tickets ORDER BY id")
            }
            #expect(tickets.map { $0["customer_id"] as Int64 } == [survivor, survivor])
            // The message went to the person's latest open ticket, answered where they wrote from.
            #expect(third == second)
            #expect(tickets.last?["reply_address"] as String? == Self.lid)
            let identities = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT kind, customer_id FROM customer_identities ORDER BY kind")
            }
            #expect(
                identities.map { "\($0["kind"] as String)=\($0["customer_id"] as Int64)" } == [
                    "lid=\(survivor)", "phone=\(survivor)",
                ])

            // The audit record, and a note on each open ticket that the panel shows.
            let audit = try #require(
                try await api.pool.read { db in
                    try Row.fetchOne(db, sql: "SELECT survivor_id, merged_id, evidence, tickets FROM customer_merges")
                })
            #expect(audit["survivor_id"] as Int64 == survivor)
            #expect(audit["merged_id"] as Int64 == merged)
            #expect((audit["evidence"] as String).contains("+5214771234567"))
            #expect((audit["evidence"] as String).contains(Self.lid))
            #expect(audit["tickets"] as String == String(second))
            let admin = try await api.admin()
            for ticket in [first, second] {
                let conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin)
                let notes = try #require(try conversation.json()["historial"] as? [[String: Any]])
                    .filter { $0["role"] as? String == "system" }.compactMap { $0["content"] as? String }
                #expect(notes.contains { $0.contains("misma persona") && $0.contains("#\(merged) en #\(survivor)") })
            }

            // From now on either address is the same customer; nothing merges twice.
            _ = try await Self.post(api, ["remitente": Self.phone, "contenido": "Gracias"])
            #expect(try await Self.customers(api).filter { $0["merged_into"] as Int64? == nil }.count == 1)
            #expect(
                try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer_merges") } == 1
            )
        }
    }

    @Test func aVisitorWhoTypesTheSamePhoneIsNeverMerged() async throws {
        try await APITestSystem.with { api in
            _ = try await Self.post(api, ["remitente": Self.phone, "contenido": "Hola"])
            _ = try await api.guestChat("Soy yo, el del WhatsApp", phone: "+" + Self.phone)
            _ = try await Self.post(
                api, ["remitente": Self.lid, "remitente_alt": Self.phone, "contenido": "Otra vez yo"])
            let customers = try await Self.customers(api)
            // The WhatsApp person (phone and LID) is one customer; the visitor stays their own.
            #expect(customers.count == 2)
            #expect(customers.allSatisfy { $0["merged_into"] as Int64? == nil })
            #expect(
                try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer_merges") } == 0
            )
        }
    }

    /// Meta's `user_changed_number` (`system_user_changed_number.pywa.json`): the new number is the same customer,
    /// their open ticket answers it from now on, and the technicians are told. From a number nobody knows, nothing.
    @Test func aCloudCustomerWhoChangesNumberIsStillTheSameCustomer() async throws {
        try await CloudWebhookTests.with { api in
            #expect(
                try await CloudWebhookTests.post(api, try CloudWebhookTests.fixture("inbound/text.pywa.json")).status
                    == 200)
            let changed = try await CloudWebhookTests.post(
                api, try CloudWebhookTests.fixture("inbound/system_user_changed_number.pywa.json"))
            #expect(changed.status == 200)
            #expect(try changed.json()["mensajes"] as? Int == 1)
            let ticket = try #require(
                try await api.pool.read { db in
                    try Row.fetchOne(db, sql: "SELECT id, customer_id, reply_address FROM tickets")
                })
            #expect(ticket["reply_address"] as String? == "972912345678")
            let identities = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT value, customer_id FROM customer_identities WHERE kind = 'phone'")
            }
            #expect(Set(identities.map { $0["value"] as String }) == ["972987654321", "972912345678"])
            #expect(Set(identities.map { $0["customer_id"] as Int64 }) == [ticket["customer_id"] as Int64])
            let admin = try await api.admin()
            let conversation = try await api.call(
                .get, "/ticket/\(ticket["id"] as Int64)/conversacion", authorization: admin)
            let notes = try #require(try conversation.json()["historial"] as? [[String: Any]])
                .filter { $0["role"] as? String == "system" }.compactMap { $0["content"] as? String }
            #expect(notes.contains { $0.contains("cambió su número") && $0.contains("+972912345678") })
            _ = try await api.call(
                .post, "/ticket/\(ticket["id"] as Int64)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "¿Sigue siendo este su número?"])
            #expect(try await api.relaySends().last?.recipient == "972912345678")

            // The same notice about a number nobody wrote from changes nothing.
            let stranger = try CloudWebhookTests.fixture("inbound/system.meta-openapi.json")
            let ignored = try await CloudWebhookTests.post(api, stranger)
            #expect(ignored.status == 200)
            #expect(try ignored.json()["mensajes"] as? Int == 0)
            #expect(try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customers") } == 1)
        }
    }
}

/// `GET /api/customers/{id}`: one person's history, within what the caller may read.
@Suite struct CustomerHistoryTests {
    @Test func aCustomersHistoryShowsEveryChannelAndTicketTheCallerMayRead() async throws {
        try await APITestSystem.with { api in
            let phone = CustomerMergeTests.phone
            let first = try await CustomerMergeTests.post(
                api, ["remitente": phone, "contenido": "Mi impresora no imprime", "nombre": "Lucía"])
            let admin = try await api.admin()
            let room = try #require(
                try await api.pool.read { db in
                    try String.fetchOne(db, sql: "SELECT uuid FROM tickets WHERE id = ?", arguments: [first])
                })
            _ = try await api.call(.post, "/api/chatrooms/\(room)/close/", authorization: admin)
            let second = try await CustomerMergeTests.post(
                api, ["remitente": CustomerMergeTests.lid, "remitente_alt": phone, "contenido": "Ahora el monitor"])
            let ticket = try await api.call(.get, "/ticket/\(second)/conversacion", authorization: admin).json()
            let customer = try #require((ticket["ticket"] as? [String: Any])?["cliente_id"] as? Int)

            let history = try await api.call(.get, "/api/customers/\(customer)", authorization: admin)
            #expect(history.status == 200, Comment(rawValue: history.text))
            let body = try history.json()
            #expect(body["nombre"] as? String == "Lucía")
            let tickets = try #require(body["tickets"] as? [[String: Any]])
            #expect(tickets.map { $0["id"] as? Int } == [Int(second), Int(first)])
            #expect(tickets.last?["estado"] as? String == "closed")
            let identities = try #require(body["identidades"] as? [[String: Any]])
            #expect(Set(identities.compactMap { $0["tipo"] as? String }) == ["phone", "lid"])
            #expect(identities.contains { $0["direccion"] as? String == "+" + phone })

            // Another technician sees the person only through the chats they may read: these are unassigned.
            let other = try await api.agent("tecnico2")
            #expect(
                try await api.call(.get, "/api/customers/\(customer)", authorization: other.authorization).status == 200
            )
            _ = try await api.call(
                .post, "/api/chatrooms/\(try await Self.room(api, second))/assign/", authorization: admin,
                json: ["agent_id": try await api.agent("tecnico3").id])
            let hidden = try await api.call(.get, "/api/customers/\(customer)", authorization: other.authorization)
            // The closed first ticket was never assigned, so it stays visible; the assigned one is not listed.
            let visible = try #require(try hidden.json()["tickets"] as? [[String: Any]])
            #expect(visible.map { $0["id"] as? Int } == [Int(first)])
            #expect(try await api.call(.get, "/api/customers/99999", authorization: admin).status == 404)
            #expect(try await api.call(.get, "/api/customers/abc", authorization: admin).status == 404)
        }
    }

    @Test func aMergedCustomersIDAnswersWithThePersonTheyBecame() async throws {
        try await APITestSystem.with { api in
            _ = try await CustomerMergeTests.post(api, ["remitente": CustomerMergeTests.phone, "contenido": "Hola"])
            _ = try await CustomerMergeTests.post(
                api, ["remitente": CustomerMergeTests.lid, "contenido": "Hola otra vez", "nombre": "L"])
            _ = try await CustomerMergeTests.post(
                api,
                ["remitente": CustomerMergeTests.lid, "remitente_alt": CustomerMergeTests.phone, "contenido": "Yo"])
            let admin = try await api.admin()
            let merged = try await api.call(.get, "/api/customers/2", authorization: admin).json()
            #expect(merged["id"] as? Int == 1)
            #expect(merged["solicitado"] as? Int == 2)
            #expect((merged["fusiones"] as? [[String: Any]])?.first?["cliente_unido"] as? Int == 2)
            #expect((merged["tickets"] as? [Any])?.count == 2)
        }
    }

    static func room(_ api: APITestSystem, _ ticket: Int64) async throws -> String {
        try #require(
            try await api.pool.read { db in
                try String.fetchOne(db, sql: "SELECT uuid FROM tickets WHERE id = ?", arguments: [ticket])
            })
    }
}
