import Foundation
import TestSupport
import Testing

/// Notifications through the broker: the api publishes events, the notifier decides, the api stores them.
@Suite("Notifications end to end", .serialized)
struct NotificationFlowTests {
    static func list(_ system: MostradorSystem, _ authorization: String) async throws -> [[String: Any]] {
        try await system.call("GET", "/api/notifications/", authorization: authorization).json()["notifications"]
            as? [[String: Any]] ?? []
    }

    static func kinds(_ items: [[String: Any]]) -> [String] { items.compactMap { $0["type"] as? String } }

    @Test func eachEventKindNotifiesTheRightPeopleAndSendsTheWhatsAppNotices() async throws {
        let system = try await MostradorSystem(notifier: true)
        defer { Task { await system.stop() } }
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        for name in ["carlos", "maria"] {
            _ = try await system.call(
                "POST", "/api/agents/", authorization: admin,
                json: ["username": name, "password": "password123", "first_name": name.capitalized])
        }
        let carlos = try await system.login("carlos", "password123")
        let maria = try await system.login("maria", "password123")
        let agents =
            try JSONSerialization.jsonObject(
                with: try await system.call("GET", "/api/agents/", authorization: admin).body) as? [[String: Any]] ?? []
        let mariaID = try #require(
            agents.first { ($0["user"] as? [String: Any])?["username"] as? String == "maria" }?["id"] as? String)

        // ticket.created (WhatsApp) → new_chat for every available agent; "ticket recibido" notice on WhatsApp.
        let ticketID = try #require(
            try await system.webhook(["remitente": "5215557770001", "contenido": "no enciende mi pc", "nombre": "Rosa"])
                .json()["ticket_id"] as? Int)
        for who in [admin, carlos, maria] {
            #expect(
                await eventually(timeout: .seconds(15)) {
                    (try? await Self.kinds(Self.list(system, who)).contains("new_chat")) == true
                })
        }
        #expect(
            await eventually(timeout: .seconds(15)) {
                system.bridge.deliveredTexts.contains { $0.contains("#\(ticketID)") && $0.contains("Rosa") }
            })

        // ticket.assigned (taken) → WhatsApp "técnico asignado"; message.created → new_message to the assigned agent.
        let room =
            try #require(try await system.get("/ticket/\(ticketID)/conversacion").json()["ticket"] as? [String: Any])[
                "uuid"] as? String
        #expect(try await system.call("POST", "/api/chatrooms/\(room!)/take/", authorization: carlos).status == 200)
        #expect(
            await eventually(timeout: .seconds(15)) {
                system.bridge.deliveredTexts.contains { $0.contains("Carlos") && $0.contains("atenderá") }
            })
        _ = try await system.webhook(["remitente": "5215557770001", "contenido": "¿ya lo revisaron?"])
        #expect(
            await eventually(timeout: .seconds(15)) {
                (try? await Self.kinds(Self.list(system, carlos)).contains("new_message")) == true
            })
        #expect(try await Self.kinds(Self.list(system, maria)).contains("new_message") == false)

        // chat.transferred → chat_transferred for María.
        #expect(
            try await system.call(
                "POST", "/api/chatrooms/\(room!)/transfer/", authorization: carlos, json: ["agent_id": mariaID]
            ).status == 200)
        #expect(
            await eventually(timeout: .seconds(15)) {
                (try? await Self.kinds(Self.list(system, maria)).contains("chat_transferred")) == true
            })

        // delivery.updated failed → delivery_failed for the assigned agent (María).
        system.bridge.mode = .refusing
        _ = try await system.call(
            "POST", "/api/chatrooms/\(room!)/send_message/", authorization: maria, json: ["content": "hola"])
        #expect(
            await eventually(timeout: .seconds(15)) {
                (try? await Self.kinds(Self.list(system, maria)).contains("delivery_failed")) == true
            })
        system.bridge.mode = .normal

        // ticket.status_changed → resolved → WhatsApp "ticket resuelto".
        #expect(try await system.call("POST", "/api/chatrooms/\(room!)/resolve/", authorization: maria).status == 200)
        #expect(
            await eventually(timeout: .seconds(15)) {
                system.bridge.deliveredTexts.contains { $0.contains("resuelto") && $0.contains("#\(ticketID)") }
            })

        // Web chat: agent_joined and new_message reach the visitor.
        let chat = try await system.guestChat()
        #expect(
            try await system.call(
                "POST", "/api/chatrooms/\(chat.room)/send_message/", authorization: carlos,
                json: ["content": "Hola, soy Carlos"]
            ).status == 201)
        #expect(
            await eventually(timeout: .seconds(15)) {
                let items =
                    (try? await system.call(
                        "GET", "/api/user-notifications/get_notifications/?chat_room_id=\(chat.room)",
                        authorization: chat.authorization
                    ).json()["notifications"] as? [[String: Any]]) ?? []
                return Set(Self.kinds(items)).isSuperset(of: ["agent_joined", "new_message"])
            })
        let userList = try await system.call(
            "GET", "/api/user-notifications/get_notifications/?chat_room_id=\(chat.room)",
            authorization: chat.authorization
        ).json()
        #expect((userList["unread_count"] as? Int ?? 0) >= 2)
        #expect(
            ((userList["notifications"] as? [[String: Any]])?.first { $0["type"] as? String == "agent_joined" }?[
                "message"] as? String)?.contains("Carlos") == true)
        _ = try await system.call(
            "POST", "/api/user-notifications/mark_read/", authorization: chat.authorization,
            json: ["chat_room_id": chat.room])
        #expect(
            try await system.call(
                "GET", "/api/user-notifications/get_notifications/?chat_room_id=\(chat.room)",
                authorization: chat.authorization
            ).json()["unread_count"] as? Int == 0)

        // mark_read / mark_all_read / unread_count for agents.
        let mine = try await Self.list(system, carlos)
        let first = try #require(mine.first?["id"] as? String)
        let before =
            try await system.call("GET", "/api/notifications/unread_count/", authorization: carlos).json()[
                "unread_count"] as? Int ?? 0
        _ = try await system.call(
            "POST", "/api/notifications/mark_read/", authorization: carlos, json: ["notification_ids": [first]])
        #expect(
            try await system.call("GET", "/api/notifications/unread_count/", authorization: carlos).json()[
                "unread_count"] as? Int == before - 1)
        _ = try await system.call("POST", "/api/notifications/mark_all_read/", authorization: carlos)
        #expect(
            try await system.call("GET", "/api/notifications/unread_count/", authorization: carlos).json()[
                "unread_count"] as? Int == 0)
    }

    @Test func aNotifierKilledMidStreamProducesEachNotificationExactlyOnce() async throws {
        let system = try await MostradorSystem(notifier: true)
        defer { Task { await system.stop() } }
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        let total = 60
        let sending = Task {
            for index in 0..<total {
                _ = try await system.webhook([
                    "remitente": "52155588\(String(format: "%05d", index))", "contenido": "hola \(index)",
                ])
            }
        }
        #expect(await eventually(timeout: .seconds(30)) { (try? await Self.list(system, admin).count) ?? 0 >= 10 })
        system.notifier?.signal(SIGKILL)
        _ = await system.notifier?.waitForExit()
        try await sending.value
        try await system.startNotifierProcess()

        #expect(await eventually(timeout: .seconds(60)) { (try? await Self.list(system, admin).count) ?? 0 >= total })
        try await Task.sleep(for: .seconds(2))
        let items = try await Self.list(system, admin)
        let perTicket = Dictionary(grouping: items.compactMap { $0["ticket_id"] as? Int }, by: { $0 })
        #expect(items.count == total)
        #expect(perTicket.count == total)
        #expect(perTicket.values.allSatisfy { $0.count == 1 })
        // The WhatsApp notice of each ticket reached the bridge once too (the relay recognises the derived ids).
        #expect(await eventually(timeout: .seconds(30)) { system.bridge.delivered.count >= total })
        let notices = system.bridge.deliveredTexts.filter { $0.contains("recibimos tu solicitud") }
        #expect(notices.count == total)
        #expect(Set(notices).count == total)
    }
}
