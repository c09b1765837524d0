import Foundation
import TestSupport
import Testing

/// Every route of the api × every kind of caller → the expected status. A wrong cell fails the test.
@Suite("Authorization matrix", .serialized)
struct AuthorizationMatrixTests {
    enum Who: String, CaseIterable {
        case nobody, otherGuest, guest, otherAgent, assignedAgent, admin
    }

    struct Row {
        let method: String
        let path: String
        let body: [String: Any]?
        /// nobody, otherGuest, guest, otherAgent, assignedAgent, admin
        let expected: [Int]
        /// Mutating routes get a fresh room per caller.
        var freshRoom = false
    }

    @Test func everyRouteAnswersEveryCallerAsExpected() async throws {
        let system = try await MostradorSystem(relay: false, environment: ["MOSTRADOR_GUEST_CHATS_PER_IP": "100000"])
        defer { Task { await system.stop() } }
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        for name in ["tecnico1", "tecnico2"] {
            let created = try await system.call(
                "POST", "/api/agents/", authorization: admin,
                json: ["username": name, "password": "password123", "first_name": name])
            try #require(created.status == 201, Comment(rawValue: created.text))
        }
        let assignedAgent = try await system.login("tecnico1", "password123")
        let otherAgent = try await system.login("tecnico2", "password123")
        let agentList =
            try JSONSerialization.jsonObject(
                with: try await system.call("GET", "/api/agents/", authorization: admin).body) as? [[String: Any]] ?? []
        let tecnico2 = agentList.first(where: { ($0["user"] as? [String: Any])?["username"] as? String == "tecnico2" })
        let tecnico2ID = try #require(tecnico2?["id"] as? String)

        /// A room taken by tecnico1, plus another visitor's room.
        func makeRoom() async throws -> (room: String, ticket: Int, guest: String, otherGuest: String) {
            let mineEmail = "a\(UUID().uuidString.prefix(6))@x.com"
            let otherEmail = "b\(UUID().uuidString.prefix(6))@x.com"
            let mine = try await system.guestChat("mi impresora no imprime", email: mineEmail)
            let other = try await system.guestChat("otro problema", email: otherEmail)
            let taken = try await system.call("POST", "/api/chatrooms/\(mine.room)/take/", authorization: assignedAgent)
            try #require(taken.status == 200, Comment(rawValue: taken.text))
            let ticket = try #require(try taken.json()["ticket_id"] as? Int)
            return (mine.room, ticket, mine.authorization, other.authorization)
        }
        let shared = try await makeRoom()

        // Expected statuses, in the order of `Who`.
        let rows: [Row] = [
            Row(method: "GET", path: "/api/chatrooms/{room}/", body: nil, expected: [401, 403, 403, 403, 200, 200]),
            Row(
                method: "GET", path: "/api/chatrooms/{room}/messages/", body: nil,
                expected: [401, 404, 200, 403, 200, 200]),
            Row(
                method: "GET", path: "/api/messages/by_chat/?chat_room_id={room}", body: nil,
                expected: [401, 404, 200, 403, 200, 200]),
            Row(
                method: "GET", path: "/api/messages/unread_count/?chat_room_id={room}", body: nil,
                expected: [401, 404, 200, 403, 200, 200]),
            Row(
                method: "POST", path: "/api/messages/mark_chat_read/", body: ["chat_room_id": "{room}"],
                expected: [401, 404, 200, 403, 200, 200]),
            Row(
                method: "GET", path: "/api/chat/get_chat_status/?chat_room_id={room}", body: nil,
                expected: [401, 404, 200, 403, 200, 200]),
            Row(
                method: "GET", path: "/api/user-notifications/get_notifications/?chat_room_id={room}", body: nil,
                expected: [401, 404, 200, 403, 200, 200]),
            Row(
                method: "POST", path: "/api/user-notifications/mark_read/", body: ["chat_room_id": "{room}"],
                expected: [401, 404, 200, 403, 200, 200]),
            Row(
                method: "POST", path: "/api/chat/send_message/", body: ["chat_room_id": "{room}", "content": "hola"],
                expected: [401, 404, 201, 403, 403, 403]),
            Row(
                method: "POST", path: "/api/messages/send_guest_message/",
                body: ["chat_room_id": "{room}", "content": "hola"], expected: [401, 404, 201, 403, 403, 403]),
            Row(
                method: "POST", path: "/api/chatrooms/{room}/send_message/", body: ["content": "hola"],
                expected: [401, 403, 403, 403, 201, 201]),
            Row(
                method: "POST", path: "/api/messages/", body: ["chat_room_id": "{room}", "content": "hola"],
                expected: [401, 403, 403, 403, 201, 201]),
            Row(
                method: "GET", path: "/api/chatrooms/filtered_chats/", body: nil,
                expected: [401, 403, 403, 200, 200, 200]),
            Row(method: "GET", path: "/api/notifications/", body: nil, expected: [401, 403, 403, 200, 200, 200]),
            Row(
                method: "GET", path: "/api/notifications/unread_count/", body: nil,
                expected: [401, 403, 403, 200, 200, 200]),
            Row(
                method: "POST", path: "/api/notifications/mark_read/", body: ["notification_ids": ["1"]],
                expected: [401, 403, 403, 200, 200, 200]),
            Row(
                method: "POST", path: "/api/notifications/mark_all_read/", body: nil,
                expected: [401, 403, 403, 200, 200, 200]),
            Row(method: "GET", path: "/api/agents/", body: nil, expected: [401, 403, 403, 200, 200, 200]),
            Row(
                method: "POST", path: "/api/agents/", body: ["username": "nuevo{n}", "password": "password123"],
                expected: [401, 403, 403, 403, 403, 201]),
            Row(method: "GET", path: "/tickets", body: nil, expected: [401, 403, 403, 200, 200, 200]),
            Row(
                method: "GET", path: "/ticket/{ticket}/conversacion", body: nil,
                expected: [401, 403, 403, 200, 200, 200]),
            Row(
                method: "GET", path: "/ticket/{ticket}/evidencias", body: nil, expected: [401, 403, 403, 200, 200, 200]),
            Row(
                method: "POST", path: "/ticket/{ticket}/enviar-mensaje", body: ["mensaje": "hola"],
                expected: [401, 403, 403, 403, 200, 200]),
            Row(
                method: "POST", path: "/api/messages/mark_bulk_read/", body: ["message_ids": ["{message}"]],
                expected: [401, 403, 403, 403, 200, 200]),
            Row(
                method: "POST", path: "/api/chatrooms/{room}/take/", body: nil,
                expected: [401, 403, 403, 403, 200, 409], freshRoom: true),
            Row(
                method: "POST", path: "/api/chatrooms/{room}/transfer/", body: ["agent_id": tecnico2ID],
                expected: [401, 403, 403, 403, 200, 200], freshRoom: true),
            Row(
                method: "POST", path: "/api/chatrooms/{room}/assign/", body: ["agent_id": tecnico2ID],
                expected: [401, 403, 403, 403, 403, 200], freshRoom: true),
            Row(
                method: "POST", path: "/api/chatrooms/{room}/resolve/", body: nil,
                expected: [401, 403, 403, 403, 200, 200], freshRoom: true),
            Row(
                method: "POST", path: "/api/chatrooms/{room}/close/", body: nil,
                expected: [401, 403, 403, 403, 200, 200], freshRoom: true),
        ]

        let sharedMessages =
            try JSONSerialization.jsonObject(
                with: try await system.call(
                    "GET", "/api/messages/by_chat/?chat_room_id=\(shared.room)", authorization: admin
                ).body)
            as? [[String: Any]] ?? []
        let firstMessage = sharedMessages.first?["id"] as? Int
        var failures: [String] = []
        var counter = 0
        for row in rows {
            for (index, who) in Who.allCases.enumerated() {
                let room = row.freshRoom ? try await makeRoom() : shared
                counter += 1
                func fill(_ text: String) -> String {
                    text.replacingOccurrences(of: "{room}", with: room.room)
                        .replacingOccurrences(of: "{ticket}", with: String(room.ticket))
                        .replacingOccurrences(of: "{message}", with: String(firstMessage ?? 0))
                        .replacingOccurrences(of: "{n}", with: String(counter))
                }
                let body = row.body.map { dictionary in
                    dictionary.mapValues { value -> Any in
                        if let text = value as? String { return fill(text) }
                        if let list = value as? [String] { return list.map(fill) }
                        return value
                    }
                }
                let authorization: String? =
                    switch who {
                    case .nobody: nil
                    case .otherGuest: room.otherGuest
                    case .guest: room.guest
                    case .otherAgent: otherAgent
                    case .assignedAgent: assignedAgent
                    case .admin: admin
                    }
                let response = try await system.call(
                    row.method, fill(row.path), authorization: authorization, json: body)
                if response.status != row.expected[index] {
                    failures.append(
                        "\(row.method) \(row.path) as \(who): \(response.status), expected \(row.expected[index]) — \(response.text.prefix(120))"
                    )
                }
                if response.status >= 400 {
                    let error = try? response.json()
                    if error?["detail"] == nil || error?["error"] == nil {
                        failures.append(
                            "\(row.method) \(row.path) as \(who): error without detail/error: \(response.text.prefix(80))"
                        )
                    }
                }
            }
        }
        #expect(
            failures.isEmpty, Comment(rawValue: "\(failures.count) wrong cells:\n" + failures.joined(separator: "\n")))
    }
}
