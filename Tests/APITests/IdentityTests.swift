import Foundation
import MostradorContracts
import Testing

@testable import MostradorAPI

/// What a web visitor types is a claim, never an identity (security review A1).
@Suite struct IdentityTests {
    static let victimPhone = "5215550001234"
    static let attackerPhone = "5215559998888"

    /// The attack of the review: a visitor types the customer's phone (with their own email), then, in a second
    /// chat, that email with their own phone. The technician's next WhatsApp reply must still go to the customer.
    @Test func aVisitorWhoTypesACustomersPhoneNeverReceivesTheirReplies() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp(
                "\(Self.victimPhone)@s.whatsapp.net", "mi laptop no prende", name: "Lucía")
            let admin = try await api.admin()
            let first = try await api.guestChat(
                "hola", name: "Atacante", email: "x@attacker.example", phone: "+\(Self.victimPhone)")
            let second = try await api.guestChat(
                "hola otra vez", name: "Atacante", email: "x@attacker.example", phone: "+\(Self.attackerPhone)")

            let sent = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin, json: ["mensaje": "¿Qué modelo es?"])
            #expect([200, 504].contains(sent.status), Comment(rawValue: sent.text))
            let replies = try await api.relaySends().filter { $0.ticketID == ticket && $0.text == "¿Qué modelo es?" }
            #expect(replies.map(\.recipient) == ["\(Self.victimPhone)@s.whatsapp.net"])
            #expect(try await api.relaySends().allSatisfy { !$0.recipient.contains(Self.attackerPhone) })

            // The customer keeps their name and number in the panel; the visitors' chats are tickets of their own.
            let conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin)
            let shown = try #require(try conversation.json()["ticket"] as? [String: Any])
            #expect(shown["nombre"] as? String == "Lucía")
            #expect(shown["telefono_verificado"] as? Bool == true)
            #expect((shown["telefono"] as? String)?.contains(Self.attackerPhone) == false)
            #expect(first.ticket != ticket && second.ticket != ticket)
            let visitor = try await api.call(.get, "/api/chatrooms/\(first.room)/", authorization: admin)
            let user = try #require(try visitor.json()["chat_user"] as? [String: Any])
            #expect(user["full_name"] as? String == "Atacante")
            #expect(user["verificado"] as? Bool == false)

            // Nothing the visitor can read holds anything of the customer.
            for room in [first, second] {
                for path in [
                    "/api/chatrooms/\(room.room)/messages/", "/api/chat/get_chat_status/?chat_room_id=\(room.room)",
                    "/api/soporte/tickets/\(room.room)/chat/historial",
                ] {
                    let page = try await api.call(.get, path, authorization: room.authorization)
                    #expect(page.status == 200, Comment(rawValue: "\(path): \(page.text)"))
                    #expect(!page.text.contains("Lucía") && !page.text.contains("laptop"))
                    #expect(!page.text.contains(Self.victimPhone))
                }
                let theirs = try await api.call(
                    .get, "/ticket/\(ticket)/conversacion", authorization: room.authorization)
                #expect(theirs.status == 403)
                let history = try await api.call(
                    .get, "/api/soporte/tickets/\(ticket)/chat/historial", authorization: room.authorization)
                #expect(history.status == 404)
            }

            // And when the customer writes again, it lands on their ticket, not on a visitor's.
            let again = try await api.whatsapp("\(Self.victimPhone)@s.whatsapp.net", "es una Dell")
            #expect(again == ticket)
        }
    }

    @Test func aVisitorWhoTypesACustomersEmailIsNotThatCustomer() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let customer = try await api.guestChat(
                "mi impresora no imprime", name: "Ana Real", email: "ana@empresa.example", phone: "+5215550002222")
            _ = try await api.call(
                .post, "/api/chatrooms/\(customer.room)/send_message/", authorization: admin,
                json: ["content": "Hola Ana, ¿qué modelo es?"])
            let impostor = try await api.guestChat(
                "hola", name: "Impostor", email: "ana@empresa.example", phone: "+\(Self.attackerPhone)")
            #expect(impostor.ticket != customer.ticket)

            let customerRoom = try await api.call(.get, "/api/chatrooms/\(customer.room)/", authorization: admin)
            let user = try #require(try customerRoom.json()["chat_user"] as? [String: Any])
            #expect(user["full_name"] as? String == "Ana Real")
            #expect(user["phone_number"] as? String == "+5215550002222")

            let page = try await api.call(
                .get, "/api/chatrooms/\(impostor.room)/messages/", authorization: impostor.authorization)
            #expect(page.status == 200)
            #expect(!page.text.contains("Ana") && !page.text.contains("impresora"))
            let theirs = try await api.call(
                .get, "/api/chatrooms/\(customer.room)/messages/", authorization: impostor.authorization)
            #expect(theirs.status == 404)
        }
    }

    /// A WhatsApp ticket answers the verified address the conversation came from.
    @Test func repliesGoToTheAddressTheConversationCameFrom() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ticket = try await api.whatsapp("+52 1 555 000 3333", "no tengo internet")
            let again = try await api.whatsapp("5215550003333@s.whatsapp.net", "sigo sin internet")
            #expect(again == ticket)
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin, json: ["mensaje": "¿Reiniciaste?"])
            let reply = try #require(try await api.relaySends().last { $0.ticketID == ticket })
            #expect(reply.recipient == "5215550003333@s.whatsapp.net")
            #expect(reply.text == "¿Reiniciaste?")
        }
    }

    @Test func namesWithControlOrBidiCharactersAreRefused() async throws {
        try await APITestSystem.with { api in
            let started = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "hola"])
            let session = try #require(try started.json()["session_id"] as? String)
            let reply = try await api.call(
                .post, "/api/chat/complete_chat/",
                json: [
                    "session_id": session, "email": "a@b.example", "full_name": "Ana\u{202E}lanigiro",
                    "phone_number": "+5215550001111",
                ])
            #expect(reply.status == 400)
            let fields = try #require(try reply.json()["fields"] as? [String: Any])
            #expect(fields["full_name"] != nil)
        }
    }
}
