import Foundation
import MostradorContracts
import MostradorSQL
import Testing

@testable import MostradorAPI

/// The application layer's rules: one insert path with its event, uploads as messages, closed chats, seed 003 frames.
@Suite struct ConversationTests {
    /// Every message, whoever wrote it and however, is recorded once as `message.created`.
    @Test func everyStoredMessageHasExactlyOneMessageCreated() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let ticket = try await api.whatsapp("5215550004444@s.whatsapp.net", "hola, mi pantalla no enciende")
            try await api.whatsapp("5215550004444@s.whatsapp.net", "Lucía")
            let chat = try await api.guestChat("no puedo imprimir")
            _ = try await api.call(
                .post, "/api/chat/send_message/", authorization: chat.authorization,
                json: ["chat_room_id": chat.room, "content": "¿hay alguien?"])
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: tecnico.authorization,
                json: ["mensaje": "Hola, soy el técnico"])
            let room = try #require(try await api.components.conversations.tickets.facts(id: ticket)?.uuid)
            _ = try await api.call(
                .post, "/api/chatrooms/\(room)/transfer/", authorization: admin, json: ["agent_id": "1"])
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/resolve/", authorization: admin)
            let file = try api.components.attachments.store(AuthorizationMatrixTests.png, filename: "foto.png")
            _ = try await api.components.conversations.attach(file, by: .guest(ticketID: chat.ticket), in: chat.ticket)

            let stored = try await api.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, role FROM messages ORDER BY id").map {
                    ($0["id"] as Int64, $0["role"] as String)
                }
            }
            let events = try await api.outbox(MessageCreated.self)
            #expect(Set(stored.map(\.1)) == ["user", "assistant", "tecnico", "system"])
            #expect(events.map(\.messageID).sorted() == stored.map(\.0))
            for event in events {
                #expect(stored.first { $0.0 == event.messageID }?.1 == event.role.rawValue)
            }
        }
    }

    /// A technician's file on a WhatsApp ticket goes to the customer through the relay, like any other message; a
    /// visitor's file is their message.
    @Test func uploadsAreMessagesWithTheirEvents() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ticket = try await api.whatsapp("5215550005555@s.whatsapp.net", "la impresora hace ruido")
            let token = String(admin.split(separator: " ")[1])
            let caller = try #require(try await api.components.callers.identify(token: token))
            let file = try api.components.attachments.store(AuthorizationMatrixTests.png, filename: "diagrama.png")
            let id = try await api.components.conversations.attach(file, by: caller, in: ticket)

            let send = try #require(try await api.relaySends().last)
            #expect(send.messageID == id)
            #expect(send.recipient == "5215550005555@s.whatsapp.net")
            #expect(send.text.contains("diagrama.png"))
            let created = try #require(try await api.outbox(MessageCreated.self).last)
            #expect(created.messageID == id && created.role == .tecnico)
            #expect(api.live.recorded.contains { $0.kind == .fileUploaded && $0.messageID == id })
            let history = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin)
            let last = try #require((try history.json()["historial"] as? [[String: Any]])?.last)
            #expect(last["estado_entrega"] as? String == "queued")
            #expect((last["adjunto_url"] as? String)?.hasPrefix("/attachments/") == true)
        }
    }

    @Test func closedChatsRefuseMessagesFromEveryone() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("mi impresora no imprime")
            let closed = try await api.call(.post, "/api/chatrooms/\(chat.room)/close/", authorization: admin)
            #expect(closed.status == 200)
            let visitor = try await api.call(
                .post, "/api/chat/send_message/", authorization: chat.authorization,
                json: ["chat_room_id": chat.room, "content": "hola"])
            let agent = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/send_message/", authorization: admin, json: ["content": "hola"])
            for reply in [visitor, agent] {
                #expect(reply.status == 400)
                #expect(try reply.json()["detail"] as? String == "No se pueden enviar mensajes en un chat cerrado")
            }
            let resolve = try await api.call(.post, "/api/chatrooms/\(chat.room)/resolve/", authorization: admin)
            #expect(resolve.status == 400)
        }
    }

    /// Seed 003's frames as the seed's client reads them: what a socket in the room receives.
    @Test func liveFramesCarryTheSeedsFields() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat("no enciende")
            let hub = LiveHub(messages: api.components.conversations.messages, logger: .init(label: "t"))
            let socket = LiveConnection(id: "c1")
            await hub.join(
                ticketID: chat.ticket,
                client: .init(id: "c1", userID: "cliente", name: "Visitante", kind: "CLIENTE", socket: socket),
                lastMessageID: 0)
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: admin)
            let file = try api.components.attachments.store(AuthorizationMatrixTests.png, filename: "foto.png")
            let upload = try await api.components.conversations.attach(
                file, by: .guest(ticketID: chat.ticket), in: chat.ticket)
            let transferred = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/transfer/", authorization: admin, json: ["agent_id": tecnico.id])
            #expect(transferred.status == 200, Comment(rawValue: transferred.text))
            for event in api.live.recorded where event.ticketID == chat.ticket { await hub.handle(event) }
            socket.finish()
            var received: [[String: Any]] = []
            for await frame in socket.frames { received.append(try Self.object(frame)) }
            func data(_ tipo: String) -> [[String: Any]] {
                received.filter { $0["tipo"] as? String == tipo }.compactMap { $0["data"] as? [String: Any] }
            }

            let transfer = try #require(data("chat_transferred").first)
            #expect((transfer["nuevo_agente"] as? [String: Any])?["nombre"] as? String == "tecnico1")
            #expect((transfer["mensaje_automatico"] as? String)?.hasPrefix("Chat transferido de") == true)
            #expect(transfer["timestamp"] is String)
            let uploaded = try #require(data("file_uploaded").first)
            #expect(uploaded["mensaje_id"] as? Int == Int(upload))
            #expect((uploaded["url"] as? String)?.hasPrefix("/attachments/") == true)
            let notes = data("mensaje_recibido").filter {
                ($0["autor"] as? [String: Any])?["tipo"] as? String == "SISTEMA"
            }
            #expect(!notes.isEmpty)
            #expect(notes.allSatisfy { $0["tipo"] as? String == "SISTEMA" })
            #expect(!data("agente_joined").isEmpty && !data("agente_left").isEmpty)
        }
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
