import Foundation
import HTTPTypes
import Testing

@testable import MostradorAPI

/// Every endpoint of seed 002 with the seed's own example payloads.
@Suite("Seed 002: guest chat, agents, chat rooms, messages, notifications")
struct Seed002Tests {
    @Test func guestFlowFromStartToClosedChat() async throws {
        try await APITestSystem.with { api in
            // 1. start_chat
            let started = try await api.call(
                .post, "/api/chat/start_chat/", json: ["initial_message": "Hola, necesito ayuda con mi pedido"])
            #expect(started.status == 200)
            let start = try started.decode(Answer.StartedChat.self)
            #expect(start.success)
            #expect(start.nextStep == "complete_profile")
            #expect(start.message == "Por favor completa tus datos de contacto")
            #expect(start.expiresIn == 1800)
            let session = start.sessionID

            // 3. validate_session (before completing)
            let validated = try await api.call(.post, "/api/chat/validate_session/", json: ["session_id": session])
                .decode(Answer.ValidatedSession.self)
            #expect(validated.valid)
            #expect(validated.hasMessage)
            #expect(validated.createdAt != nil)

            // 2. complete_chat — bad fields first, then the seed's payload
            let invalid = try await api.call(
                .post, "/api/chat/complete_chat/",
                json: ["session_id": session, "email": "no-es-correo", "full_name": "J", "phone_number": "abc"])
            #expect(invalid.status == 400)
            let fields = try #require(invalid.failure?.fields, Comment(rawValue: invalid.text))
            #expect(Set(fields.keys) == ["email", "full_name", "phone_number"])
            let completed = try await api.call(
                .post, "/api/chat/complete_chat/",
                json: [
                    "session_id": session, "email": "usuario@ejemplo.com", "full_name": "Juan Pérez",
                    "phone_number": "+1234567890", "recaptcha_token": "abc123def456",
                ])
            #expect(completed.status == 200)
            let complete = try completed.decode(Answer.CompletedChat.self)
            #expect(complete.success)
            #expect(complete.userName == "Juan Pérez")
            #expect(complete.message == "Chat iniciado correctamente. Un agente te contactará pronto.")
            let room = complete.chatRoomID
            let guest = "Room \(complete.roomToken)"

            // 4. send_message and send_guest_message
            for path in ["/api/chat/send_message/", "/api/messages/send_guest_message/"] {
                let sent = try await api.call(
                    .post, path, authorization: guest,
                    json: ["chat_room_id": room, "content": "Mi número de orden es 12345"])
                #expect(sent.status == 201, "\(path): \(sent.text)")
            }

            // 5. get_chat_status
            func status() async throws -> Answer.ChatStatus {
                try await api.call(.get, "/api/chat/get_chat_status/?chat_room_id=\(room)", authorization: guest)
                    .decode(Answer.ChatStatus.self)
            }
            let waiting = try await status()
            #expect(waiting.chatRoomID == room)
            #expect(waiting.status == "waiting")
            #expect(!waiting.agentAssigned)

            // Agents: login, list, detail, send (both ways), messages (both ways), read marks, resolve, close.
            let admin = try await api.admin()
            let login = try await api.call(
                .post, "/api/auth/login/",
                json: ["username": APITestSystem.adminUser, "password": APITestSystem.adminPassword]
            ).decode(Answer.Login.self)
            #expect(login.user.keys.sorted() == ["email", "first_name", "id", "last_name", "username"])
            #expect(login.agent.specialty == "soporte_general")

            let list = try await api.call(
                .get, "/api/chatrooms/filtered_chats/?status=waiting&page=1&page_size=20", authorization: admin
            ).decode(Answer.RoomList.self)
            let first = try #require(list.chats.first)
            #expect(first.id == room)
            #expect(first.subject == "Chat de Juan Pérez")
            #expect(first.chatUser.email == "usuario@ejemplo.com")
            #expect(first.unreadMessagesCount == 3)
            #expect(first.lastMessage == "Mi número de orden es 12345")
            #expect(list.pagination.currentPage == 1 && list.pagination.totalChats == 1)
            #expect(!list.pagination.hasNext && !list.pagination.hasPrevious)
            #expect(list.filters.status == "waiting")

            let detail = try await api.call(.get, "/api/chatrooms/\(room)/", authorization: admin)
                .decode(Answer.Room.self)
            #expect(detail.initialMessage == "Hola, necesito ayuda con mi pedido")
            #expect(detail.chatUser.phoneNumber == "+1234567890")

            let viaRoom = try await api.call(
                .post, "/api/chatrooms/\(room)/send_message/", authorization: admin,
                json: ["content": "Hola Juan, soy Carlos. ¿En qué puedo ayudarte?", "message_type": "text"])
            #expect(viaRoom.status == 201)
            #expect(try viaRoom.decode(Answer.Message.self).senderType == "agent")
            let viaMessages = try await api.call(
                .post, "/api/messages/", authorization: admin,
                json: ["chat_room_id": room, "content": "¿Me compartes tu correo?", "message_type": "text"])
            #expect(viaMessages.status == 201)
            let active = try await status()
            #expect(active.status == "active")
            #expect(active.agentAssigned)
            #expect(active.unreadMessages == 2)

            // Reading as the agent marks the customer's messages read.
            func messages(_ path: String, as who: String) async throws -> [Answer.Message] {
                try await api.call(.get, path, authorization: who).decode([Answer.Message].self)
            }
            func unread(as who: String) async throws -> Int {
                try await api.call(.get, "/api/messages/unread_count/?chat_room_id=\(room)", authorization: who)
                    .decode(Answer.UnreadCount.self).unreadCount
            }
            var seen = try await messages("/api/chatrooms/\(room)/messages/", as: admin)
            #expect(seen.filter { $0.senderType == "user" }.allSatisfy { $0.isRead })
            let agentMessage = try #require(seen.first { $0.senderType == "agent" })
            #expect(agentMessage.agentSender?.user.firstName == "Administrador")
            let byChat = try await messages("/api/messages/by_chat/?chat_room_id=\(room)", as: admin)
            #expect(byChat.count == seen.count)

            // The guest reads: the agent's messages become read.
            #expect(try await unread(as: guest) == 2)
            seen = try await messages("/api/chatrooms/\(room)/messages/", as: guest)
            #expect(seen.filter { $0.senderType == "agent" }.allSatisfy { $0.isRead })

            // mark_read, mark_bulk_read, mark_chat_read, unread_count for agents
            for text in ["uno", "dos"] {
                _ = try await api.call(
                    .post, "/api/chat/send_message/", authorization: guest,
                    json: ["chat_room_id": room, "content": text])
            }
            #expect(try await unread(as: admin) == 2)
            let fresh = try await messages("/api/messages/by_chat/?chat_room_id=\(room)", as: guest)
                .filter { $0.senderType == "user" }.suffix(2).map(\.id)
            #expect(
                try await api.call(.post, "/api/messages/\(fresh[0])/mark_read/", authorization: admin).status == 200)
            #expect(try await unread(as: admin) == 1)
            #expect(
                try await api.call(
                    .post, "/api/messages/mark_bulk_read/", authorization: admin,
                    json: ["message_ids": fresh.map { String($0) }]
                ).status == 200)
            #expect(try await unread(as: admin) == 0)
            _ = try await api.call(
                .post, "/api/chat/send_message/", authorization: guest, json: ["chat_room_id": room, "content": "tres"])
            #expect(
                try await api.call(
                    .post, "/api/messages/mark_chat_read/", authorization: admin, json: ["chat_room_id": room]
                ).status == 200)
            #expect(try await unread(as: admin) == 0)

            // resolve, then close, with their timestamps; then the seed's closed-chat error.
            let resolved = try await api.call(.post, "/api/chatrooms/\(room)/resolve/", authorization: admin)
                .decode(Answer.Room.self)
            #expect(resolved.status == "resolved")
            #expect(resolved.resolvedAt != nil)
            let closed = try await api.call(.post, "/api/chatrooms/\(room)/close/", authorization: admin)
                .decode(Answer.Room.self)
            #expect(closed.status == "closed")
            #expect(closed.closedAt != nil)
            let late = try await api.call(
                .post, "/api/chat/send_message/", authorization: guest,
                json: ["chat_room_id": room, "content": "¿hola?"])
            #expect(late.status == 400)
            #expect(late.failure?.error == "No se pueden enviar mensajes en un chat cerrado")

            // Logout
            let logout = try await api.call(.post, "/api/auth/logout/", authorization: admin)
            #expect(try logout.decode(Answer.Done.self).message == "Successfully logged out")
        }
    }

    /// An expired session (the clock moved past its 30 minutes) and the per-IP limit. The limit counts the
    /// client's IP, so this test talks to the router over a real local connection.
    @Test func expiredSessionAndRateLimitGiveTheSeedsErrors() async throws {
        try await APITestSystem.with(transport: .live, configure: { $0.guestChatsPerIP = 2 }) { api in
            let session = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "hola"])
                .decode(Answer.StartedChat.self).sessionID
            api.clock.advance(by: api.components.settings.guestSessionLifetime + 1)
            let expired = try await api.call(
                .post, "/api/chat/complete_chat/",
                json: ["session_id": session, "email": "a@b.com", "full_name": "Ana", "phone_number": "5512345678"])
            #expect(expired.status == 400)
            #expect(expired.failure?.error == "Sesión expirada. Por favor inicia el chat nuevamente.")
            #expect(
                try await api.call(.post, "/api/chat/validate_session/", json: ["session_id": session])
                    .decode(Answer.ValidatedSession.self).valid == false)
            #expect(
                try await api.call(.post, "/api/chat/complete_chat/", json: ["session_id": "no-existe"]).status == 400)

            _ = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "otra vez"])
            let limited = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "y otra"])
            #expect(limited.status == 429)
            #expect(
                limited.failure?.error == "Has creado demasiados chats recientemente. Por favor intenta más tarde.")
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test func agentsAreManagedByAdminsAndAssignmentsAreRecorded() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let created = try await api.call(
                .post, "/api/agents/", authorization: admin,
                json: [
                    "username": "agente1", "password": "password123", "email": "agente1@empresa.com",
                    "first_name": "Carlos", "last_name": "López", "specialty": "soporte_general",
                ])
            #expect(created.status == 201, "\(created.text)")
            let carlos = try created.decode(Answer.Agent.self)
            #expect(carlos.user.firstName == "Carlos")
            _ = try await api.call(
                .post, "/api/agents/", authorization: admin,
                json: ["username": "agente2", "password": "password456", "first_name": "María", "last_name": "García"])
            #expect(
                try await api.call(
                    .post, "/api/agents/", authorization: admin,
                    json: ["username": "agente1", "password": "password123"]
                ).status == 409)
            #expect(
                try await api.call(
                    .post, "/api/agents/", authorization: admin, json: ["username": "x", "password": "1"]
                )
                .status == 400)
            func agents() async throws -> [Answer.Agent] {
                try await api.call(.get, "/api/agents/", authorization: admin).decode([Answer.Agent].self)
            }
            #expect(try await agents().count == 3)

            let carlosToken = try await api.login("agente1", "password123")
            let mariaToken = try await api.login("agente2", "password456")
            #expect(
                try await api.call(
                    .post, "/api/agents/", authorization: carlosToken,
                    json: ["username": "nuevo", "password": "password123"]
                ).status == 403)
            // An agent may switch their own availability, nothing else.
            #expect(
                try await api.call(
                    .patch, "/api/agents/\(carlos.id)/", authorization: carlosToken, json: ["is_available": false]
                ).status == 200)
            #expect(
                try await api.call(
                    .patch, "/api/agents/\(carlos.id)/", authorization: carlosToken, json: ["role": "admin"]
                ).status == 403)

            // take → transfer → the system notes say who joined and left.
            let chat = try await api.guestChat()
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: carlosToken).status
                    == 200)
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: mariaToken).status
                    == 403)
            let mariaID = try #require(try await agents().first { $0.user.username == "agente2" }?.id)
            let transferred = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/transfer/", authorization: carlosToken,
                json: ["agent_id": mariaID])
            #expect(transferred.status == 200, "\(transferred.text)")
            #expect(try transferred.decode(Answer.Room.self).agent?.user.firstName == "María")
            let notes = try await api.call(
                .get, "/api/chatrooms/\(chat.room)/messages/", authorization: mariaToken
            ).decode([Answer.Message].self).filter { $0.senderType == "system" }.map(\.content)
            #expect(notes.contains { $0.contains("Carlos López se unió") })
            #expect(notes.contains { $0.contains("Carlos López dejó el chat") })
            #expect(notes.contains { $0.contains("transferido de Carlos López a María García") })
            #expect(notes.contains { $0.contains("María García se unió") })
            // Carlos no longer may write there; the admin may assign it back.
            let denied = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/send_message/", authorization: carlosToken,
                json: ["content": "hola"])
            #expect(denied.status == 403)
            #expect(denied.failure?.error == "No tienes permisos para enviar mensajes en este chat")
            #expect(
                try await api.call(
                    .post, "/api/chatrooms/\(chat.room)/assign/", authorization: admin, json: ["agent_id": carlos.id]
                ).status == 200)
            #expect(
                try await api.call(
                    .post, "/api/chatrooms/\(chat.room)/assign/", authorization: mariaToken,
                    json: ["agent_id": mariaID]
                ).status == 403)

            // Deactivating ends the agent's sessions; the last admin cannot be removed.
            #expect(try await api.call(.delete, "/api/agents/\(carlos.id)/", authorization: admin).status == 200)
            #expect(try await api.call(.get, "/tickets", authorization: carlosToken).status == 401)
            let adminID = try #require(try await agents().first { $0.role == "admin" }?.id)
            #expect(try await api.call(.delete, "/api/agents/\(adminID)/", authorization: admin).status == 409)
        }
    }
}
