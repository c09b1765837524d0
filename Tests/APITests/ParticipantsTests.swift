import Foundation
import MostradorContracts
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// Several technicians on one chat: the owner (the assigned agent) or an admin invites, an admin joins, a
/// participant reads, writes and leaves, the owner stays the owner, and the customer sees who writes.
@Suite struct ParticipantsTests {
    static func room(_ api: APITestSystem, _ ticket: Int64) async throws -> String {
        try #require(
            try await api.pool.read { db in
                try String.fetchOne(db, sql: "SELECT uuid FROM tickets WHERE id = ?", arguments: [ticket])
            })
    }

    static func notes(_ api: APITestSystem, _ ticket: Int64) async throws -> [String] {
        try await api.pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT content FROM messages WHERE ticket_id = ? AND role = 'system' ORDER BY id",
                arguments: [ticket])
        }
    }

    static func participants(_ reply: APITestSystem.Reply) throws -> [(name: String, role: String)] {
        let list = try #require(try reply.json()["participantes"] as? [[String: Any]], Comment(rawValue: reply.text))
        return list.map { ($0["nombre"] as? String ?? "?", $0["rol"] as? String ?? "?") }
    }

    @Test func twoTechniciansWriteInOneWhatsAppChatAndTheCustomerSeesWhoWrites() async throws {
        try await APITestSystem.with { api in
            let ana = try await api.agent("ana")
            let luis = try await api.agent("luis")
            let ticket = try await api.whatsapp("5215550004141", "Mi laptop no enciende")
            let room = try await Self.room(api, ticket)

            // Ana takes the chat by writing; alone in it, her messages go out as she wrote them.
            let first = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: ana.authorization,
                json: ["mensaje": "¿Qué modelo es?"])
            // Stored and queued (without a relay in this process, the send answers 504 "still queued").
            #expect((try? first.json())?["guardado"] as? Bool == true, Comment(rawValue: first.text))
            #expect(try await api.relaySends().last?.text == "¿Qué modelo es?")

            // Luis cannot see it yet; Ana invites him.
            let before = try await api.call(
                .get, "/ticket/\(ticket)/conversacion", authorization: luis.authorization)
            #expect(before.status == 403)
            let invited = try await api.call(
                .post, "/api/chatrooms/\(room)/participants/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            #expect(invited.status == 201, Comment(rawValue: invited.text))
            #expect(try Self.participants(invited).map(\.role) == ["responsable", "participante"])
            #expect(try Self.participants(invited).map(\.name) == ["ana", "luis"])
            let again = try await api.call(
                .post, "/api/chatrooms/\(room)/participants/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            #expect(again.status == 200)
            #expect(try Self.participants(again).count == 2)

            // Luis reads, lists and writes; the customer reads his name, then Ana's.
            #expect(
                try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: luis.authorization).status
                    == 200)
            #expect(
                try await api.call(.get, "/tickets", authorization: luis.authorization).list().contains {
                    $0["id"] as? Int == Int(ticket)
                })
            let written = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: luis.authorization,
                json: ["mensaje": "Hola, soy de redes"])
            #expect((try? written.json())?["guardado"] as? Bool == true, Comment(rawValue: written.text))
            #expect(try await api.relaySends().last?.text == "*luis*:\nHola, soy de redes")
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: ana.authorization,
                json: ["mensaje": "Gracias, Luis"])
            #expect(try await api.relaySends().last?.text == "*ana*:\nGracias, Luis")
            // What is stored (and shown in the panel) is the text itself; Ana still owns the chat.
            let facts = try #require(try await api.components.conversations.tickets.facts(key: String(ticket)))
            let anaAgent = try #require(try await api.components.agents.find(ana.id))
            let luisAgent = try #require(try await api.components.agents.find(luis.id))
            #expect(facts.assignedAgentID == anaAgent.id)
            #expect(facts.participantIDs == [luisAgent.id])
            let stored = try await api.pool.read { db in
                try String.fetchAll(
                    db, sql: "SELECT content FROM messages WHERE ticket_id = ? AND role = 'tecnico' ORDER BY id",
                    arguments: [ticket])
            }
            #expect(stored == ["¿Qué modelo es?", "Hola, soy de redes", "Gracias, Luis"])

            // A participant writes but does not resolve, close, invite or transfer.
            for (path, body) in [
                ("/api/chatrooms/\(room)/resolve/", [String: Any]()),
                ("/api/chatrooms/\(room)/close/", [:]),
                ("/api/chatrooms/\(room)/participants/", ["agent_id": ana.id]),
                ("/api/chatrooms/\(room)/transfer/", ["agent_id": luis.id]),
            ] {
                let refused = try await api.call(.post, path, authorization: luis.authorization, json: body)
                #expect(refused.status == 403, Comment(rawValue: "\(path): \(refused.text)"))
                #expect((try? refused.json())?["detail"] is String)
            }

            // He leaves: the chat is closed to him again, with notes and events for each change.
            let left = try await api.call(.post, "/api/chatrooms/\(room)/leave/", authorization: luis.authorization)
            #expect(left.status == 200, Comment(rawValue: left.text))
            #expect(try Self.participants(left).map(\.name) == ["ana"])
            #expect(
                try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: luis.authorization).status
                    == 403)
            #expect(
                try await Self.notes(api, ticket).suffix(2) == [
                    "luis se unió al chat (invitado por ana)", "luis dejó el chat",
                ])
            let changes = try await api.outbox(ChatParticipantChanged.self)
            #expect(changes.map(\.joined) == [true, false])
            #expect(changes.allSatisfy { $0.agentName == "luis" && $0.ticketID == ticket && $0.channel == .whatsapp })

            // Alone again, Ana's messages are no longer signed.
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: ana.authorization,
                json: ["mensaje": "Listo"])
            #expect(try await api.relaySends().last?.text == "Listo")
        }
    }

    @Test func theOwnerStaysUntilTheChatIsTransferredAndOutsidersGetNothing() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ana = try await api.agent("ana")
            let luis = try await api.agent("luis")
            let marta = try await api.agent("marta")
            let chat = try await api.guestChat("Mi correo no sincroniza")
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: ana.authorization)
                    .status == 200)

            // Outsiders neither see the participants nor join; nobody invites into an unassigned chat but admins.
            for path in ["/api/chatrooms/\(chat.room)/participants/"] {
                #expect(try await api.call(.get, path, authorization: marta.authorization).status == 403)
                #expect(try await api.call(.get, path, authorization: chat.authorization).status == 403)
                #expect(try await api.call(.get, path).status == 401)
            }
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/join/", authorization: marta.authorization)
                    .status == 403)
            let unassigned = try await api.guestChat("Otra cosa")
            let refused = try await api.call(
                .post, "/api/chatrooms/\(unassigned.room)/participants/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            #expect(refused.status == 403, Comment(rawValue: refused.text))

            // An admin joins without taking the chat; the owner cannot be removed, only transferred.
            let joined = try await api.call(.post, "/api/chatrooms/\(chat.room)/join/", authorization: admin)
            #expect(joined.status == 201, Comment(rawValue: joined.text))
            #expect(try Self.participants(joined).map(\.role) == ["responsable", "participante"])
            let removeOwner = try await api.call(
                .delete, "/api/chatrooms/\(chat.room)/participants/\(ana.id)", authorization: admin)
            #expect(removeOwner.status == 409, Comment(rawValue: removeOwner.text))

            // Ana invites Luis, then transfers the chat to him: he becomes the owner, no longer a participant.
            _ = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/participants/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            let transferred = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/transfer/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            #expect(transferred.status == 200, Comment(rawValue: transferred.text))
            let after = try await api.call(
                .get, "/api/chatrooms/\(chat.room)/participants/", authorization: luis.authorization)
            #expect(try Self.participants(after).map(\.role) == ["responsable", "participante"])
            #expect(try Self.participants(after).first?.name == "luis")
            // Ana left with the transfer; the admin who joined stays. Luis (owner now) removes the admin.
            #expect(
                try await api.call(.get, "/api/chatrooms/\(chat.room)/", authorization: ana.authorization).status
                    == 403)
            let adminID = try #require(
                (try after.json()["participantes"] as? [[String: Any]])?.last?["id"] as? String)
            let removed = try await api.call(
                .delete, "/api/chatrooms/\(chat.room)/participants/\(adminID)", authorization: luis.authorization)
            #expect(removed.status == 200, Comment(rawValue: removed.text))
            #expect(try Self.participants(removed).map(\.name) == ["luis"])
            #expect(try await Self.notes(api, chat.ticket).last?.hasPrefix("luis quitó a ") == true)
        }
    }

    @Test func theWebVisitorSeesEachTechniciansName() async throws {
        try await APITestSystem.with { api in
            let ana = try await api.agent("ana")
            let luis = try await api.agent("luis")
            let chat = try await api.guestChat("La impresora no imprime")
            _ = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/send_message/", authorization: ana.authorization,
                json: ["content": "Hola, soy Ana"])
            _ = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/participants/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            let sent = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/send_message/", authorization: luis.authorization,
                json: ["content": "Hola, soy Luis"])
            #expect(sent.status == 201, Comment(rawValue: sent.text))
            let messages = try await api.call(
                .get, "/api/chatrooms/\(chat.room)/messages/", authorization: chat.authorization
            ).list()
            let authors = messages.filter { $0["sender_type"] as? String == "agent" }.map {
                (($0["agent_sender"] as? [String: Any])?["user"] as? [String: Any])?["first_name"] as? String
            }
            #expect(authors == ["ana", "luis"])
            // The visitor is told in the chat itself who joined.
            #expect(
                messages.contains { $0["content"] as? String == "luis se unió al chat (invitado por ana)" })
        }
    }

    /// Over the WebSocket: a participant writes in the room and everyone sees who; once removed, their socket on
    /// that chat is closed (the access policy is asked again) while the owner's stays.
    @Test func aRemovedParticipantsSocketIsClosed() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let ana = try await api.agent("ana")
            let luis = try await api.agent("luis")
            let chat = try await api.guestChat("Mi monitor parpadea")
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: ana.authorization)
            let guest = LiveClient(
                url: try api.webSocketURL(ticket: chat.room, token: WebSocketTests.token(chat.authorization)))
            defer { guest.close() }
            #expect(await guest.wait(for: "connection_established") != nil)
            _ = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/participants/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            let joined = try #require(
                await guest.wait(for: "agente_joined", as: Answer.Frame.About.self) { $0.usuario?.nombre == "luis" })
            #expect(joined.usuario?.tipo == "AGENTE")
            let owner = try await WebSocketSessionTests.connect(api, ana.authorization, room: chat.room)
            defer { owner.close() }
            let socket = try await WebSocketSessionTests.connect(api, luis.authorization, room: chat.room)
            defer { socket.close() }
            socket.send("mensaje", ["mensaje": "Revisemos el cable", "client_id": "luis-1"])
            let seen = try #require(
                await guest.wait(for: "mensaje_recibido", as: Answer.LiveMessage.self) {
                    $0.contenido == "Revisemos el cable"
                })
            #expect(seen.autor.nombre == "luis")

            let removed = try await api.call(
                .delete, "/api/chatrooms/\(chat.room)/participants/\(luis.id)", authorization: ana.authorization)
            #expect(removed.status == 200, Comment(rawValue: removed.text))
            #expect(await socket.waitUntilClosed()?.code == "policyViolation")
            #expect(await guest.wait(for: "agente_left") != nil)
            #expect(owner.closed == nil)
        }
    }

    /// `ticket_agents` notifications (a customer's message, a resolve by someone else) reach the owner and every
    /// participant, but not the agent who caused them.
    @Test func ticketAgentsNotificationsReachTheOwnerAndTheParticipants() async throws {
        try await APITestSystem.with { api in
            let ana = try await api.agent("ana")
            let luis = try await api.agent("luis")
            let marta = try await api.agent("marta")
            let chat = try await api.guestChat("Sin internet")
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: ana.authorization)
            _ = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/participants/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            let stored = try await api.components.notifications.store(
                NotificationCreated(
                    ticketID: chat.ticket, audience: .ticketAgents, kind: "chat_resolved", title: "Chat resuelto",
                    message: "Resuelto", excludeAgentID: nil),
                amqpMessageID: UUID().uuidString, consumer: "test")
            #expect(stored == 2)
            for (who, count) in [(ana, 1), (luis, 1), (marta, 0)] {
                let list = try await api.call(.get, "/api/notifications/", authorization: who.authorization)
                let items = try #require(try list.json()["notifications"] as? [[String: Any]])
                #expect(items.filter { $0["type"] as? String == "chat_resolved" }.count == count)
            }
        }
    }
}
