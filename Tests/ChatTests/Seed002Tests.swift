import Foundation
import TestSupport
import Testing

/// Every endpoint of seed 002 with the seed's own example payloads.
@Suite("Seed 002: guest chat, agents, chat rooms, messages, notifications", .serialized)
struct Seed002Tests {
    static func object(_ result: HTTPResult) throws -> [String: Any] { try result.json() }
    static func array(_ result: HTTPResult) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: result.body) as? [[String: Any]])
    }

    @Test func guestFlowFromStartToClosedChat() async throws {
        let system = try await MostradorSystem(relay: false, environment: ["MOSTRADOR_GUEST_SESSION_MINUTES": "30"])
        defer { Task { await system.stop() } }
        let base = system.baseURL

        // 1. start_chat
        let started = try await HTTP.post(
            "\(base)/api/chat/start_chat/", json: ["initial_message": "Hola, necesito ayuda con mi pedido"])
        #expect(started.status == 200)
        let start = try Self.object(started)
        #expect(start["success"] as? Bool == true)
        #expect(start["next_step"] as? String == "complete_profile")
        #expect(start["message"] as? String == "Por favor completa tus datos de contacto")
        #expect(start["expires_in"] as? Int == 1800)
        let session = try #require(start["session_id"] as? String)

        // 3. validate_session (before completing)
        let validated = try Self.object(
            try await HTTP.post("\(base)/api/chat/validate_session/", json: ["session_id": session]))
        #expect(validated["valid"] as? Bool == true)
        #expect(validated["has_message"] as? Bool == true)
        #expect(validated["created_at"] is String)

        // 2. complete_chat — bad fields first, then the seed's payload
        let invalid = try await HTTP.post(
            "\(base)/api/chat/complete_chat/",
            json: ["session_id": session, "email": "no-es-correo", "full_name": "J", "phone_number": "abc"])
        #expect(invalid.status == 400)
        let fields = try #require(try Self.object(invalid)["fields"] as? [String: String])
        #expect(Set(fields.keys) == ["email", "full_name", "phone_number"])
        let completed = try await HTTP.post(
            "\(base)/api/chat/complete_chat/",
            json: [
                "session_id": session, "email": "usuario@ejemplo.com", "full_name": "Juan Pérez",
                "phone_number": "+1234567890", "recaptcha_token": "abc123def456",
            ])
        #expect(completed.status == 200)
        let complete = try Self.object(completed)
        #expect(complete["success"] as? Bool == true)
        #expect(complete["user_name"] as? String == "Juan Pérez")
        #expect(complete["message"] as? String == "Chat iniciado correctamente. Un agente te contactará pronto.")
        let room = try #require(complete["chat_room_id"] as? String)
        let guest = "Room \(try #require(complete["room_token"] as? String))"

        // 4. send_message and send_guest_message
        for path in ["/api/chat/send_message/", "/api/messages/send_guest_message/"] {
            let sent = try await system.call(
                "POST", path, authorization: guest,
                json: ["chat_room_id": room, "content": "Mi número de orden es 12345"])
            #expect(sent.status == 201, "\(path): \(sent.text)")
        }

        // 5. get_chat_status
        var status = try Self.object(
            try await system.call("GET", "/api/chat/get_chat_status/?chat_room_id=\(room)", authorization: guest))
        #expect(status["chat_room_id"] as? String == room)
        #expect(status["status"] as? String == "waiting")
        #expect(status["agent_assigned"] as? Bool == false)

        // Agents: login, list, detail, send (both ways), messages (both ways), read marks, resolve, close.
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        let login = try Self.object(
            try await HTTP.post(
                "\(base)/api/auth/login/",
                json: ["username": MostradorSystem.adminUser, "password": MostradorSystem.adminPassword]))
        #expect(
            (login["user"] as? [String: Any])?.keys.sorted() == ["email", "first_name", "id", "last_name", "username"])
        #expect((login["agent"] as? [String: Any])?["specialty"] as? String == "soporte_general")

        let list = try Self.object(
            try await system.call(
                "GET", "/api/chatrooms/filtered_chats/?status=waiting&page=1&page_size=20", authorization: admin))
        let chats = try #require(list["chats"] as? [[String: Any]])
        #expect(chats.first?["id"] as? String == room)
        #expect(chats.first?["subject"] as? String == "Chat de Juan Pérez")
        #expect((chats.first?["chat_user"] as? [String: Any])?["email"] as? String == "usuario@ejemplo.com")
        #expect(chats.first?["unread_messages_count"] as? Int == 3)
        #expect(chats.first?["last_message"] as? String == "Mi número de orden es 12345")
        let pagination = try #require(list["pagination"] as? [String: Any])
        #expect(pagination["current_page"] as? Int == 1 && pagination["total_chats"] as? Int == 1)
        #expect(pagination["has_next"] as? Bool == false && pagination["has_previous"] as? Bool == false)
        #expect((list["filters"] as? [String: Any])?["status"] as? String == "waiting")

        let detail = try Self.object(try await system.call("GET", "/api/chatrooms/\(room)/", authorization: admin))
        #expect(detail["initial_message"] as? String == "Hola, necesito ayuda con mi pedido")
        #expect((detail["chat_user"] as? [String: Any])?["phone_number"] as? String == "+1234567890")

        let viaRoom = try await system.call(
            "POST", "/api/chatrooms/\(room)/send_message/", authorization: admin,
            json: ["content": "Hola Juan, soy Carlos. ¿En qué puedo ayudarte?", "message_type": "text"])
        #expect(viaRoom.status == 201)
        #expect(try Self.object(viaRoom)["sender_type"] as? String == "agent")
        let viaMessages = try await system.call(
            "POST", "/api/messages/", authorization: admin,
            json: ["chat_room_id": room, "content": "¿Me compartes tu correo?", "message_type": "text"])
        #expect(viaMessages.status == 201)
        status = try Self.object(
            try await system.call("GET", "/api/chat/get_chat_status/?chat_room_id=\(room)", authorization: guest))
        #expect(status["status"] as? String == "active")
        #expect(status["agent_assigned"] as? Bool == true)
        #expect(status["unread_messages"] as? Int == 2)

        // Reading as the agent marks the customer's messages read.
        var messages = try Self.array(
            try await system.call("GET", "/api/chatrooms/\(room)/messages/", authorization: admin))
        #expect(
            messages.filter { $0["sender_type"] as? String == "user" }.allSatisfy { $0["is_read"] as? Bool == true })
        let agentMessage = try #require(messages.first { $0["sender_type"] as? String == "agent" })
        #expect(
            ((agentMessage["agent_sender"] as? [String: Any])?["user"] as? [String: Any])?["first_name"] as? String
                == "Administrador")
        let byChat = try Self.array(
            try await system.call("GET", "/api/messages/by_chat/?chat_room_id=\(room)", authorization: admin))
        #expect(byChat.count == messages.count)

        // The guest reads: the agent's messages become read.
        #expect(
            try Self.object(
                try await system.call("GET", "/api/messages/unread_count/?chat_room_id=\(room)", authorization: guest))[
                    "unread_count"] as? Int == 2)
        messages = try Self.array(
            try await system.call("GET", "/api/chatrooms/\(room)/messages/", authorization: guest))
        #expect(
            messages.filter { $0["sender_type"] as? String == "agent" }.allSatisfy { $0["is_read"] as? Bool == true })

        // mark_read, mark_bulk_read, mark_chat_read, unread_count for agents
        _ = try await system.call(
            "POST", "/api/chat/send_message/", authorization: guest, json: ["chat_room_id": room, "content": "uno"])
        _ = try await system.call(
            "POST", "/api/chat/send_message/", authorization: guest, json: ["chat_room_id": room, "content": "dos"])
        #expect(
            try Self.object(
                try await system.call("GET", "/api/messages/unread_count/?chat_room_id=\(room)", authorization: admin))[
                    "unread_count"] as? Int == 2)
        let fresh = try Self.array(
            try await system.call("GET", "/api/messages/by_chat/?chat_room_id=\(room)", authorization: guest)
        )
        .filter { $0["sender_type"] as? String == "user" }.suffix(2).compactMap { $0["id"] as? Int }
        #expect(
            try await system.call("POST", "/api/messages/\(fresh[0])/mark_read/", authorization: admin).status == 200)
        #expect(
            try Self.object(
                try await system.call("GET", "/api/messages/unread_count/?chat_room_id=\(room)", authorization: admin))[
                    "unread_count"] as? Int == 1)
        #expect(
            try await system.call(
                "POST", "/api/messages/mark_bulk_read/", authorization: admin,
                json: ["message_ids": fresh.map(String.init)]
            ).status == 200)
        #expect(
            try Self.object(
                try await system.call("GET", "/api/messages/unread_count/?chat_room_id=\(room)", authorization: admin))[
                    "unread_count"] as? Int == 0)
        _ = try await system.call(
            "POST", "/api/chat/send_message/", authorization: guest, json: ["chat_room_id": room, "content": "tres"])
        #expect(
            try await system.call(
                "POST", "/api/messages/mark_chat_read/", authorization: admin, json: ["chat_room_id": room]
            ).status == 200)
        #expect(
            try Self.object(
                try await system.call("GET", "/api/messages/unread_count/?chat_room_id=\(room)", authorization: admin))[
                    "unread_count"] as? Int == 0)

        // resolve, then close, with their timestamps; then the seed's closed-chat error.
        let resolved = try Self.object(
            try await system.call("POST", "/api/chatrooms/\(room)/resolve/", authorization: admin))
        #expect(resolved["status"] as? String == "resolved")
        #expect(resolved["resolved_at"] is String)
        let closed = try Self.object(
            try await system.call("POST", "/api/chatrooms/\(room)/close/", authorization: admin))
        #expect(closed["status"] as? String == "closed")
        #expect(closed["closed_at"] is String)
        let late = try await system.call(
            "POST", "/api/chat/send_message/", authorization: guest, json: ["chat_room_id": room, "content": "¿hola?"])
        #expect(late.status == 400)
        #expect(try Self.object(late)["error"] as? String == "No se pueden enviar mensajes en un chat cerrado")

        // Logout
        let logout = try await system.call("POST", "/api/auth/logout/", authorization: admin)
        #expect(try Self.object(logout)["message"] as? String == "Successfully logged out")
    }

    @Test func expiredSessionAndRateLimitGiveTheSeedsErrors() async throws {
        let system = try await MostradorSystem(
            relay: false,
            environment: ["MOSTRADOR_GUEST_SESSION_MINUTES": "0.01", "MOSTRADOR_GUEST_CHATS_PER_IP": "2"])
        defer { Task { await system.stop() } }
        let base = system.baseURL
        let session =
            try Self.object(try await HTTP.post("\(base)/api/chat/start_chat/", json: ["initial_message": "hola"]))[
                "session_id"] as? String
        try await Task.sleep(for: .seconds(1))
        let expired = try await HTTP.post(
            "\(base)/api/chat/complete_chat/",
            json: ["session_id": session ?? "", "email": "a@b.com", "full_name": "Ana", "phone_number": "5512345678"])
        #expect(expired.status == 400)
        #expect(try Self.object(expired)["error"] as? String == "Sesión expirada. Por favor inicia el chat nuevamente.")
        #expect(
            try Self.object(
                try await HTTP.post("\(base)/api/chat/validate_session/", json: ["session_id": session ?? ""]))["valid"]
                as? Bool == false)
        #expect(try await HTTP.post("\(base)/api/chat/complete_chat/", json: ["session_id": "no-existe"]).status == 400)

        _ = try await HTTP.post("\(base)/api/chat/start_chat/", json: ["initial_message": "otra vez"])
        let limited = try await HTTP.post("\(base)/api/chat/start_chat/", json: ["initial_message": "y otra"])
        #expect(limited.status == 429)
        #expect(
            try Self.object(limited)["error"] as? String
                == "Has creado demasiados chats recientemente. Por favor intenta más tarde.")
        #expect(limited.header("retry-after") != nil)
    }

    @Test func agentsAreManagedByAdminsAndAssignmentsAreRecorded() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        let created = try await system.call(
            "POST", "/api/agents/", authorization: admin,
            json: [
                "username": "agente1", "password": "password123", "email": "agente1@empresa.com",
                "first_name": "Carlos", "last_name": "López", "specialty": "soporte_general",
            ])
        #expect(created.status == 201, "\(created.text)")
        let carlos = try Self.object(created)
        #expect((carlos["user"] as? [String: Any])?["first_name"] as? String == "Carlos")
        _ = try await system.call(
            "POST", "/api/agents/", authorization: admin,
            json: ["username": "agente2", "password": "password456", "first_name": "María", "last_name": "García"])
        #expect(
            try await system.call(
                "POST", "/api/agents/", authorization: admin, json: ["username": "agente1", "password": "password123"]
            ).status == 409)
        #expect(
            try await system.call(
                "POST", "/api/agents/", authorization: admin, json: ["username": "x", "password": "1"]
            ).status == 400)
        #expect(try Self.array(try await system.call("GET", "/api/agents/", authorization: admin)).count == 3)

        let carlosToken = try await system.login("agente1", "password123")
        let mariaToken = try await system.login("agente2", "password456")
        #expect(
            try await system.call(
                "POST", "/api/agents/", authorization: carlosToken,
                json: ["username": "nuevo", "password": "password123"]
            ).status == 403)
        // An agent may switch their own availability, nothing else.
        let carlosID = try #require(carlos["id"] as? String)
        #expect(
            try await system.call(
                "PATCH", "/api/agents/\(carlosID)/", authorization: carlosToken, json: ["is_available": false]
            ).status == 200)
        #expect(
            try await system.call(
                "PATCH", "/api/agents/\(carlosID)/", authorization: carlosToken, json: ["role": "admin"]
            ).status == 403)

        // take → transfer → the system notes say who joined and left.
        let chat = try await system.guestChat()
        #expect(
            try await system.call("POST", "/api/chatrooms/\(chat.room)/take/", authorization: carlosToken).status == 200
        )
        #expect(
            try await system.call("POST", "/api/chatrooms/\(chat.room)/take/", authorization: mariaToken).status == 403)
        let mariaID = try #require(
            try Self.array(try await system.call("GET", "/api/agents/", authorization: admin))
                .first { ($0["user"] as? [String: Any])?["username"] as? String == "agente2" }?["id"] as? String)
        let transferred = try await system.call(
            "POST", "/api/chatrooms/\(chat.room)/transfer/", authorization: carlosToken, json: ["agent_id": mariaID])
        #expect(transferred.status == 200, "\(transferred.text)")
        #expect(
            ((try Self.object(transferred)["agent"] as? [String: Any])?["user"] as? [String: Any])?["first_name"]
                as? String == "María")
        let notes = try Self.array(
            try await system.call("GET", "/api/chatrooms/\(chat.room)/messages/", authorization: mariaToken)
        )
        .filter { $0["sender_type"] as? String == "system" }.compactMap { $0["content"] as? String }
        #expect(notes.contains { $0.contains("Carlos López se unió") })
        #expect(notes.contains { $0.contains("Carlos López dejó el chat") })
        #expect(notes.contains { $0.contains("transferido de Carlos López a María García") })
        #expect(notes.contains { $0.contains("María García se unió") })
        // Carlos no longer may write there; the admin may assign it back.
        let denied = try await system.call(
            "POST", "/api/chatrooms/\(chat.room)/send_message/", authorization: carlosToken, json: ["content": "hola"])
        #expect(denied.status == 403)
        #expect(try Self.object(denied)["error"] as? String == "No tienes permisos para enviar mensajes en este chat")
        #expect(
            try await system.call(
                "POST", "/api/chatrooms/\(chat.room)/assign/", authorization: admin, json: ["agent_id": carlosID]
            ).status == 200)
        #expect(
            try await system.call(
                "POST", "/api/chatrooms/\(chat.room)/assign/", authorization: mariaToken, json: ["agent_id": mariaID]
            ).status == 403)

        // Deactivating ends the agent's sessions; the last admin cannot be removed.
        #expect(try await system.call("DELETE", "/api/agents/\(carlosID)/", authorization: admin).status == 200)
        #expect(try await system.call("GET", "/tickets", authorization: carlosToken).status == 401)
        let adminID = try #require(
            try Self.array(try await system.call("GET", "/api/agents/", authorization: admin))
                .first { $0["role"] as? String == "admin" }?["id"] as? String)
        #expect(try await system.call("DELETE", "/api/agents/\(adminID)/", authorization: admin).status == 409)
    }
}
