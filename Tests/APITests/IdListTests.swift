import Foundation
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Lists of ids in bodies (review I5, test 13): too many, duplicates, non-numeric or null entries are a 400 with the
/// reason, never a 500; the store chunks what it binds.
@Suite("Id lists: bounded, de-duplicated, typed")
struct IdListTests {
    @Test func badIdListsAreA400AndNeverA500() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let many = Array(1...1001)
            let huge = Array(repeating: 1, count: 40_000)
            let routes = ["/api/notifications/mark_read/", "/api/messages/mark_bulk_read/"]
            for route in routes {
                let field = route.contains("notifications") ? "notification_ids" : "message_ids"
                let cases: [(String, Any, [Int])] = [
                    ("1001 ids", [field: many], [400]),
                    ("40000 ids", [field: huge], [400, 413]),
                    ("null list", [field: NSNull()], [400]),
                    ("missing", [String: Any](), [400]),
                    ("null entry", [field: [1, NSNull()]], [400]),
                    ("object entry", [field: [["id": 1]]], [400]),
                    ("fraction", [field: [1.5]], [400]),
                    ("empty string", [field: [""]], [400]),
                    ("not a list", [field: "1,2"], [400]),
                ]
                for (name, body, statuses) in cases {
                    let reply = try await api.call(.post, route, authorization: admin, json: body)
                    #expect(statuses.contains(reply.status), "\(route) \(name): \(reply.status) \(reply.text)")
                    #expect(reply.failure?.detail?.isEmpty == false, "\(route) \(name): \(reply.text)")
                }
                let duplicates = try await api.call(
                    .post, route, authorization: admin, json: [field: Array(repeating: 7, count: 1000)])
                // 1,000 times the same id is one id (a message that does not exist is a 404, not a 500).
                #expect([200, 404].contains(duplicates.status), "\(route): \(duplicates.text)")
            }
            let words = try await api.call(
                .post, "/api/messages/mark_bulk_read/", authorization: admin, json: ["message_ids": ["abc"]])
            #expect(words.status == 400)
            #expect(words.failure?.detail?.contains("numéricos") == true)
            // Notification ids may be uuids: words are ids that match nothing.
            let uuids = try await api.call(
                .post, "/api/notifications/mark_read/", authorization: admin, json: ["notification_ids": ["abc"]])
            #expect(uuids.status == 200)

            let guest = try await api.guestChat()
            let guestCases: [(String, Any)] = [
                ("1001 ids", Array(1...1001)),
                ("null entry", [NSNull()]),
            ]
            for (name, ids) in guestCases {
                let reply = try await api.call(
                    .post, "/api/user-notifications/mark_read/", authorization: guest.authorization,
                    json: ["chat_room_id": guest.room, "notification_ids": ids])
                #expect(reply.status == 400, "guest \(name): \(reply.status) \(reply.text)")
            }
        }
    }

    @Test func theStoreMarksAThousandIdsGivenTwiceInChunks() async throws {
        try await APITestSystem.with { api in
            let agentID = try await api.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM agents")! }
            try await api.pool.write { db in
                for index in 1...1000 {
                    try db.execute(
                        sql: """
                            INSERT INTO notifications (uuid, recipient, agent_id, kind, title, message, created_at)
                            VALUES (?, 'agent', ?, 'new_chat', 't', 'm', ?)
                            """, arguments: ["n-\(index)", agentID, Date()])
                }
            }
            let ids = try await api.pool.read { db in
                try String.fetchAll(db, sql: "SELECT CAST(id AS TEXT) FROM notifications")
            }
            #expect(ids.count == 1000)
            // 2,000 entries, 1,000 distinct, mixing ids and uuids: more than one statement's worth, each marked once.
            let marked = try await api.components.notifications.markReadForAgent(
                agentID, ids: ids + (1...1000).map { "n-\($0)" })
            #expect(marked == 1000)
            let unread = try await api.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications WHERE NOT is_read")
            }
            #expect(unread == 0)
        }
    }

    @Test func syncOnAChatTheCallerMayNotWriteIsRefusedWithoutA500() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let owner = try await api.agent("duena")
            let other = try await api.agent("otro")
            let chat = try await api.guestChat()
            let take = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/take/", authorization: owner.authorization)
            #expect(take.status == 200, "\(take.text)")
            let body: [String: Any] = ["messages": [["client_id": "c1", "contenido": "hola"]]]
            let path = "/api/soporte/tickets/\(chat.ticket)/chat/sync/"
            let refused = try await api.call(.post, path, authorization: other.authorization, json: body)
            #expect(refused.status == 403, "\(refused.text)")
            let stranger = try await api.guestChat("Otra consulta")
            let guest = try await api.call(.post, path, authorization: stranger.authorization, json: body)
            #expect(guest.status == 404, "\(guest.text)")
            let allowed = try await api.call(.post, path, authorization: admin, json: body)
            #expect(allowed.status == 200, "\(allowed.text)")
        }
    }
}
