import Foundation
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// A ticket's state follows what happens: `new` until a technician answers; `waiting` (on the customer) after a
/// technician writes; `open` again when the customer answers; `resolved` reopens when they write; `closed` is final
/// and the customer's next WhatsApp message opens a new ticket.
@Suite struct TicketStateTests {
    static func status(_ api: APITestSystem, _ ticket: Int64) async throws -> String? {
        try await api.pool.read { db in
            try String.fetchOne(db, sql: "SELECT status FROM tickets WHERE id = ?", arguments: [ticket])
        }
    }

    @Test func aWhatsAppTicketWaitsOnTheCustomerAfterATechnicianWrites() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp("5215550007777", "Mi impresora no imprime")
            #expect(try await Self.status(api, ticket) == "new")
            let admin = try await api.admin()
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "¿Qué modelo es?"])
            #expect(try await Self.status(api, ticket) == "waiting")
            // The panel's filter (seed alias `en_espera`) and the ticket JSON say the same.
            let waiting = try await api.call(.get, "/tickets?estado=en_espera", authorization: admin).list()
            #expect(waiting.map { $0["id"] as? Int } == [Int(ticket)])
            #expect(waiting.first?["estado"] as? String == "waiting")

            #expect(try await api.whatsapp("5215550007777", "Una HP LaserJet") == ticket)
            #expect(try await Self.status(api, ticket) == "open")
            #expect(try await api.call(.get, "/tickets?estado=waiting", authorization: admin).list().isEmpty)

            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin, json: ["mensaje": "Ya quedó"])
            #expect(try await Self.status(api, ticket) == "waiting")
        }
    }

    @Test func aClosedWhatsAppTicketStaysClosedAndTheNextMessageOpensANewOne() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp("5215550008888", "No enciende")
            let admin = try await api.admin()
            let room = try #require(
                try await api.pool.read { db in
                    try String.fetchOne(db, sql: "SELECT uuid FROM tickets WHERE id = ?", arguments: [ticket])
                })
            #expect(try await api.call(.post, "/api/chatrooms/\(room)/close/", authorization: admin).status == 200)
            #expect(try await Self.status(api, ticket) == "closed")
            let next = try await api.whatsapp("5215550008888", "Otra cosa: mi monitor parpadea")
            #expect(next != ticket)
            #expect(try await Self.status(api, ticket) == "closed")
            #expect(try await Self.status(api, next) == "new")
        }
    }

    @Test func aWebVisitorsAnswerOpensTheChatAgain() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat("Hola, mi correo no sincroniza")
            let admin = try await api.admin()
            let sent = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/send_message/", authorization: admin,
                json: ["content": "¿Qué cliente de correo usas?"])
            #expect(sent.status == 201)
            #expect(try await Self.status(api, chat.ticket) == "waiting")
            let answered = try await api.call(
                .post, "/api/chat/send_message/", authorization: chat.authorization,
                json: ["chat_room_id": chat.room, "content": "Outlook"])
            #expect(answered.status == 201)
            #expect(try await Self.status(api, chat.ticket) == "open")
        }
    }
}
