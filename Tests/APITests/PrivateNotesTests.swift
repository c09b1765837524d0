import Foundation
import MostradorContracts
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Private notes: agents write them on a ticket; customers never read them on any path (REST, WebSocket, the
/// outbox that feeds the relay and the notifier). Through the real broker, relay and notifier: `ChatTests`.
@Suite struct PrivateNotesTests {
    static let secret = "NOTA-PRIVADA: el cliente ya tuvo 2 garantías"

    static func note(_ api: APITestSystem, ticket: Int64, _ content: Any, as authorization: String) async throws
        -> APITestSystem.Reply
    {
        try await api.call(
            .post, "/api/tickets/\(ticket)/notes", authorization: authorization, json: ["content": content])
    }

    static func outboxCount(_ api: APITestSystem) async throws -> Int {
        try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0 }
    }

    @Test func agentsSeeANoteInTheConversationAndItsList() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ticket = try await api.whatsapp("5215550001111", "mi impresora no imprime", name: "Rosa")
            let before = try await Self.outboxCount(api)
            let sendsBefore = try await api.relaySends().count
            let written = try await Self.note(api, ticket: ticket, Self.secret, as: admin)
            #expect(written.status == 201, Comment(rawValue: written.text))
            let body = try written.json()
            #expect(body["role"] as? String == "note")
            #expect(body["content"] as? String == Self.secret)
            #expect(body["ticket_id"] as? Int == Int(ticket))
            #expect((body["autor"] as? [String: Any])?["nombre"] as? String == "Administrador")

            // No event, no relay command: nothing that leaves Mostrador was written.
            #expect(try await Self.outboxCount(api) == before)
            #expect(try await api.relaySends().count == sendsBefore)

            let conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin)
            let history = try #require(try conversation.json()["historial"] as? [[String: Any]])
            let notes = history.filter { $0["role"] as? String == "note" }
            #expect(notes.map { $0["content"] as? String } == [Self.secret])
            #expect(notes.first?["estado_entrega"] == nil)
            let listed = try await api.call(.get, "/api/tickets/\(ticket)/notes", authorization: admin).list()
            #expect(listed.map { $0["content"] as? String } == [Self.secret])
            // The ticket list's preview stays the customer's last message.
            let tickets = try await api.call(.get, "/tickets", authorization: admin).list()
            #expect(tickets.first { $0["id"] as? Int == Int(ticket) }?["ultimo_mensaje"] as? String != Self.secret)
        }
    }

    @Test func aVisitorReadsNoNoteOverRESTAndCannotWriteOne() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("no puedo entrar a mi cuenta")
            #expect(try await Self.note(api, ticket: chat.ticket, Self.secret, as: admin).status == 201)
            let agentSees = try await api.call(.get, "/api/chatrooms/\(chat.room)/messages/", authorization: admin)
            #expect(agentSees.text.contains(Self.secret))
            for path in [
                "/api/chatrooms/\(chat.room)/messages/", "/api/messages/by_chat/?chat_room_id=\(chat.room)",
                "/api/soporte/tickets/\(chat.room)/chat/historial", "/api/soporte/tickets/\(chat.room)/chat/stats",
                "/api/messages/unread_count/?chat_room_id=\(chat.room)",
                "/api/user-notifications/get_notifications/?chat_room_id=\(chat.room)",
            ] {
                let reply = try await api.call(.get, path, authorization: chat.authorization)
                #expect(reply.status == 200, Comment(rawValue: "\(path): \(reply.text)"))
                #expect(!reply.text.contains("NOTA-PRIVADA"), Comment(rawValue: path))
                #expect(!reply.text.contains("\"note\""), Comment(rawValue: path))
            }
            let unread = try await api.call(
                .get, "/api/messages/unread_count/?chat_room_id=\(chat.room)", authorization: chat.authorization)
            #expect(try unread.json()["unread_count"] as? Int == 0)
            // The visitor's own token cannot write or read notes.
            #expect(try await Self.note(api, ticket: chat.ticket, "hola", as: chat.authorization).status == 403)
            let list = try await api.call(.get, "/api/tickets/\(chat.ticket)/notes", authorization: chat.authorization)
            #expect(list.status == 403)
            #expect(!list.text.contains("NOTA-PRIVADA"))
        }
    }

    @Test func aNoteIsPushedToAgentsSocketsAndNeverToTheVisitors() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("se apagó la pantalla")
            let panel = try await WebSocketSessionTests.connect(api, admin, room: String(chat.ticket))
            let guest = try await WebSocketSessionTests.connect(api, chat.authorization, room: chat.room)
            defer {
                panel.close()
                guest.close()
            }
            #expect(try await Self.note(api, ticket: chat.ticket, Self.secret, as: admin).status == 201)
            let pushed = await panel.wait(for: "mensaje_recibido") { $0["contenido"] as? String == Self.secret }
            #expect(pushed?.data["role"] as? String == "note")
            #expect(pushed?.data["tipo"] as? String == "NOTA")
            // A message written after the note reaches the visitor; the note before it never does.
            panel.send("mensaje", ["mensaje": "Hola, ya reviso su equipo", "client_id": "p-1"])
            #expect(
                await guest.wait(for: "mensaje_recibido") { $0["contenido"] as? String == "Hola, ya reviso su equipo" }
                    != nil)
            #expect(!guest.received.contains { $0.text.contains("NOTA-PRIVADA") })
            // Nor in the history a new socket is given.
            let late = try await WebSocketSessionTests.connect(api, chat.authorization, room: chat.room)
            defer { late.close() }
            #expect(!late.received.contains { $0.text.contains("NOTA-PRIVADA") })
            let lateAgent = try await WebSocketSessionTests.connect(api, admin, room: String(chat.ticket))
            defer { lateAgent.close() }
            #expect(lateAgent.received.contains { $0.text.contains("NOTA-PRIVADA") })
        }
    }

    @Test func mentionsNotifyColleaguesWhoMayReadTheTicketOnly() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ana = try await api.agent("ana")
            let luis = try await api.agent("luis")
            let ticket = try await api.whatsapp("5215550002222", "mi laptop no carga")
            // Luis owns the ticket; Ana is outside it once it is his.
            let room = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()
            let uuid = try #require((room["ticket"] as? [String: Any])?["uuid"] as? String)
            #expect(
                try await api.call(.post, "/api/chatrooms/\(uuid)/take/", authorization: luis.authorization).status
                    == 200)
            let written = try await Self.note(
                api, ticket: ticket,
                "@Luis revisa el cargador; @ana no tiene acceso; @nadie no existe; correo soporte@luis.mx; @luis otra vez",
                as: admin)
            #expect(written.status == 201, Comment(rawValue: written.text))
            #expect(try written.json()["mencionados"] as? [String] == ["luis"])
            let luisNotes = try await api.call(.get, "/api/notifications/", authorization: luis.authorization).json()
            let items = try #require(luisNotes["notifications"] as? [[String: Any]])
            let mention = try #require(items.first { $0["type"] as? String == "mencion" })
            #expect((mention["message"] as? String)?.contains("revisa el cargador") == true)
            #expect(mention["ticket_id"] as? Int == Int(ticket))
            let anaNotes = try await api.call(.get, "/api/notifications/", authorization: ana.authorization).json()
            #expect(
                !((anaNotes["notifications"] as? [[String: Any]]) ?? []).contains { $0["type"] as? String == "mencion" }
            )
            // Ana cannot write a note on Luis's ticket either.
            #expect(try await Self.note(api, ticket: ticket, "hola", as: ana.authorization).status == 403)
            // Luis mentioning himself notifies nobody.
            let own = try await Self.note(api, ticket: ticket, "nota para mí @luis", as: luis.authorization)
            #expect(try own.json()["mencionados"] as? [String] == [])
        }
    }

    @Test func badNotesAreRefusedWithAReasonAndStoreNothing() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ticket = try await api.whatsapp("5215550003333", "no hay internet")
            func count() async throws -> Int {
                try await api.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE private") ?? 0
                }
            }
            for content in ["", "   ", String(repeating: "a", count: 5000)] as [Any] {
                let reply = try await Self.note(api, ticket: ticket, content, as: admin)
                #expect(reply.status == 400, Comment(rawValue: reply.text))
                #expect(reply.failure != nil)
            }
            #expect(try await Self.note(api, ticket: ticket, 42, as: admin).status == 400)
            let missing = try await api.call(.post, "/api/tickets/\(ticket)/notes", authorization: admin, json: [:])
            #expect(missing.status == 400)
            #expect(missing.text.contains("content"))
            let malformed = try await api.call(
                .post, "/api/tickets/\(ticket)/notes", authorization: admin, body: Data("{\"content\":".utf8),
                contentType: "application/json")
            #expect(malformed.status == 400)
            let huge = try await api.call(
                .post, "/api/tickets/\(ticket)/notes", authorization: admin,
                body: Data(("{\"content\":\"" + String(repeating: "x", count: 70_000) + "\"}").utf8),
                contentType: "application/json")
            #expect(huge.status == 413)
            #expect(try await Self.note(api, ticket: 999_999, "hola", as: admin).status == 404)
            #expect(try await Self.note(api, ticket: ticket, "hola", as: "Token inventado").status == 401)
            #expect(try await count() == 0)
        }
    }

    /// A reply cannot quote a note: the quote would carry its text to the customer.
    @Test func aReplyCannotQuoteANote() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ticket = try await api.whatsapp("5215550004444", "la pantalla parpadea")
            let note = try await Self.note(api, ticket: ticket, Self.secret, as: admin).json()
            let id = try #require(note["id"] as? Int)
            let reply = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "respuesta", "responde_a": id])
            #expect(reply.status == 400, Comment(rawValue: reply.text))
            #expect(try await api.relaySends().allSatisfy { !$0.text.contains("NOTA-PRIVADA") })
        }
    }

    @Test func mentionsAreWordsStartingWithAnAt() {
        #expect(
            Conversations.mentions(in: "@Ana y @luis.perez, (@eva) correo x@y.com @ana") == [
                "ana", "luis.perez", "eva",
            ])
        #expect(Conversations.mentions(in: "sin menciones @ @. fin.") == [])
    }
}
