import Foundation
import TestSupport
import Testing

/// Notifications through the broker: the api publishes events, the notifier decides, the api stores them.
@Suite("Notifications end to end", .serialized)
struct NotificationFlowTests {
    /// `GET /api/notifications/` and `…/get_notifications/`.
    struct Notifications: Decodable {
        struct Item: Decodable {
            let id: String
            let type: String
            let message: String
            let ticketID: Int?
            enum CodingKeys: String, CodingKey {
                case id, type, message
                case ticketID = "ticket_id"
            }
        }
        let notifications: [Item]
        let unreadCount: Int
        enum CodingKeys: String, CodingKey {
            case notifications
            case unreadCount = "unread_count"
        }
    }

    struct UnreadCount: Decodable {
        let unreadCount: Int
        enum CodingKeys: String, CodingKey { case unreadCount = "unread_count" }
    }

    struct Agent: Decodable {
        struct User: Decodable { let username: String }
        let id: String
        let user: User
    }

    static func list(_ system: MostradorSystem, _ authorization: String) async throws -> [Notifications.Item] {
        try await system.call("GET", "/api/notifications/", authorization: authorization)
            .decode(Notifications.self).notifications
    }

    static func kinds(_ items: [Notifications.Item]) -> [String] { items.map(\.type) }

    static func unread(_ system: MostradorSystem, _ authorization: String) async throws -> Int {
        try await system.call("GET", "/api/notifications/unread_count/", authorization: authorization)
            .decode(UnreadCount.self).unreadCount
    }

    @Test func eachEventKindNotifiesTheRightPeopleAndSendsTheWhatsAppNotices() async throws {
        try await MostradorSystem.with(notifier: true) { system in
            let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
            for name in ["carlos", "maria"] {
                _ = try await system.call(
                    "POST", "/api/agents/", authorization: admin,
                    json: ["username": name, "password": "password123", "first_name": name.capitalized])
            }
            let carlos = try await system.login("carlos", "password123")
            let maria = try await system.login("maria", "password123")
            let agents = try await system.call("GET", "/api/agents/", authorization: admin).decode([Agent].self)
            let mariaID = try #require(agents.first { $0.user.username == "maria" }?.id)

            // ticket.created (WhatsApp) → new_chat for every available agent; "ticket recibido" notice on WhatsApp.
            let ticketID = try await system.receive([
                "remitente": "5215557770001", "contenido": "no enciende mi pc", "nombre": "Rosa",
            ])
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
            let room = try await system.get("/ticket/\(ticketID)/conversacion").decode(Conversation.self).ticket.uuid
            #expect(try await system.call("POST", "/api/chatrooms/\(room)/take/", authorization: carlos).status == 200)
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
                    "POST", "/api/chatrooms/\(room)/transfer/", authorization: carlos, json: ["agent_id": mariaID]
                ).status == 200)
            #expect(
                await eventually(timeout: .seconds(15)) {
                    (try? await Self.kinds(Self.list(system, maria)).contains("chat_transferred")) == true
                })

            // delivery.updated failed → delivery_failed for the assigned agent (María).
            system.bridge.mode = .refusing
            _ = try await system.call(
                "POST", "/api/chatrooms/\(room)/send_message/", authorization: maria, json: ["content": "hola"])
            #expect(
                await eventually(timeout: .seconds(15)) {
                    (try? await Self.kinds(Self.list(system, maria)).contains("delivery_failed")) == true
                })
            system.bridge.mode = .normal

            // ticket.status_changed → resolved → WhatsApp "ticket resuelto".
            #expect(
                try await system.call("POST", "/api/chatrooms/\(room)/resolve/", authorization: maria).status == 200)
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
            func visitorNotifications() async throws -> Notifications {
                try await system.call(
                    "GET", "/api/user-notifications/get_notifications/?chat_room_id=\(chat.room)",
                    authorization: chat.authorization
                ).decode(Notifications.self)
            }
            #expect(
                await eventually(timeout: .seconds(15)) {
                    let items = (try? await visitorNotifications().notifications) ?? []
                    return Set(Self.kinds(items)).isSuperset(of: ["agent_joined", "new_message"])
                })
            let userList = try await visitorNotifications()
            #expect(userList.unreadCount >= 2)
            #expect(
                userList.notifications.first { $0.type == "agent_joined" }?.message.contains("Carlos") == true)
            _ = try await system.call(
                "POST", "/api/user-notifications/mark_read/", authorization: chat.authorization,
                json: ["chat_room_id": chat.room])
            #expect(try await visitorNotifications().unreadCount == 0)

            // mark_read / mark_all_read / unread_count for agents.
            let mine = try await Self.list(system, carlos)
            let first = try #require(mine.first?.id)
            let before = try await Self.unread(system, carlos)
            _ = try await system.call(
                "POST", "/api/notifications/mark_read/", authorization: carlos, json: ["notification_ids": [first]])
            #expect(try await Self.unread(system, carlos) == before - 1)
            _ = try await system.call("POST", "/api/notifications/mark_all_read/", authorization: carlos)
            #expect(try await Self.unread(system, carlos) == 0)
        }
    }

    @Test func aNotifierKilledMidStreamProducesEachNotificationExactlyOnce() async throws {
        try await MostradorSystem.with(notifier: true) { system in
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

            #expect(
                await eventually(timeout: .seconds(60)) { (try? await Self.list(system, admin).count) ?? 0 >= total })
            try await Task.sleep(for: .seconds(2))
            let items = try await Self.list(system, admin)
            let perTicket = Dictionary(grouping: items.compactMap(\.ticketID), by: { $0 })
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
}
