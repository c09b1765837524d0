import Foundation
import MostradorContracts
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Auto-assignment: off by default; round robin among available agents with room; chats that find nobody wait and
/// are handed out when room appears; an agent who becomes unavailable hands their chats on or back to the queue.
@Suite struct AutoAssignmentTests {
    static func owners(_ api: APITestSystem, _ tickets: [Int64]) async throws -> [String?] {
        try await api.pool.read { db in
            try tickets.map { ticket in
                try String.fetchOne(
                    db,
                    sql: """
                        SELECT a.username FROM tickets t LEFT JOIN agents a ON a.id = t.assigned_agent_id
                        WHERE t.id = ?
                        """, arguments: [ticket])
            }
        }
    }

    static func setAvailable(_ api: APITestSystem, _ agentID: String, _ available: Bool, as authorization: String)
        async throws
    {
        let reply = try await api.call(
            .patch, "/api/agents/\(agentID)/", authorization: authorization, json: ["is_available": available])
        try #require(reply.status == 200, Comment(rawValue: reply.text))
    }

    /// The admin steps away so that only the technicians of the test take chats.
    static func team(_ api: APITestSystem, _ names: [String]) async throws -> (
        admin: String, agents: [(authorization: String, id: String)]
    ) {
        let admin = try await api.admin()
        let me = try await api.pool.read { db in
            try String.fetchOne(
                db, sql: "SELECT uuid FROM agents WHERE username = ?", arguments: [APITestSystem.adminUser])
        }
        try await setAvailable(api, try #require(me), false, as: admin)
        var agents: [(authorization: String, id: String)] = []
        for name in names { agents.append(try await api.agent(name)) }
        return (admin, agents)
    }

    @Test func itIsOffByDefault() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            _ = try await api.agent("ana")
            let policy = try await api.call(.get, "/api/settings/assignment", authorization: admin).json()
            #expect(policy["enabled"] as? Bool == false)
            #expect(policy["capacity"] as? Int == 5)
            let ticket = try await api.whatsapp("5215550004001@s.whatsapp.net", "no prende")
            #expect(try await Self.owners(api, [ticket]) == [nil])
        }
    }

    @Test func newChatsGoRoundRobinUpToEachAgentsCapacityAndWaitingOnesFollowRoom() async throws {
        try await APITestSystem.with { api in
            let (admin, agents) = try await Self.team(api, ["ana", "luis", "pedro"])
            try await Self.setAvailable(api, agents[2].id, false, as: agents[2].authorization)
            let enabled = try await api.call(
                .put, "/api/settings/assignment", authorization: admin, json: ["enabled": true, "capacity": 2])
            #expect(enabled.status == 200, Comment(rawValue: enabled.text))

            var tickets: [Int64] = []
            for index in 0..<4 {
                tickets.append(try await api.whatsapp("52155500050\(index)@s.whatsapp.net", "no prende \(index)"))
            }
            let web = try await api.guestChat("no entra el correo")
            tickets.append(web.ticket)
            // Round robin, two each; the fifth finds nobody with room and waits.
            #expect(try await Self.owners(api, tickets) == ["ana", "luis", "ana", "luis", nil])
            let conversation = try await api.call(.get, "/ticket/\(tickets[0])/conversacion", authorization: admin)
            #expect(conversation.text.contains("Asignado automáticamente a ana"))
            let audit = try await AuditTests.entries(api, "?action=ticket.auto_assign", as: admin)
            #expect(audit.count == 4)
            #expect(audit.allSatisfy { $0["actor"] is NSNull })
            let assigned = try await api.outbox(TicketAssigned.self)
            #expect(assigned.count == 4)
            #expect(assigned.allSatisfy { $0.byAgentID == nil })

            // Ana resolves a chat: the waiting one is hers.
            let room = try await CustomerHistoryTests.room(api, tickets[0])
            let resolved = try await api.call(
                .post, "/api/chatrooms/\(room)/resolve/", authorization: agents[0].authorization)
            #expect(resolved.status == 200, Comment(rawValue: resolved.text))
            #expect(try await Self.owners(api, [tickets[4]]) == ["ana"])

            // Luis goes away: nobody has room, so his chats go back to the queue; Pedro comes back and gets them.
            try await Self.setAvailable(api, agents[1].id, false, as: agents[1].authorization)
            #expect(try await Self.owners(api, [tickets[1], tickets[3]]) == [nil, nil])
            let note = try await api.call(.get, "/ticket/\(tickets[1])/conversacion", authorization: admin)
            #expect(note.text.contains("no está disponible: el chat vuelve a la cola"))
            try await Self.setAvailable(api, agents[2].id, true, as: agents[2].authorization)
            #expect(try await Self.owners(api, [tickets[1], tickets[3]]) == ["pedro", "pedro"])

            // Raising the capacity hands out nothing more (nothing waits), and a deactivated agent's chats move on.
            #expect(
                try await api.call(.put, "/api/settings/assignment", authorization: admin, json: ["capacity": 3])
                    .status == 200)
            #expect(try await api.call(.delete, "/api/agents/\(agents[2].id)/", authorization: admin).status == 200)
            #expect(try await Self.owners(api, [tickets[1], tickets[3]]) == ["ana", nil])
        }
    }

    @Test func onlyAdminsChangeItAndBadValuesAreRefused() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            #expect(try await api.call(.get, "/api/settings/assignment").status == 401)
            #expect(
                try await api.call(.get, "/api/settings/assignment", authorization: tecnico.authorization).status
                    == 403)
            #expect(
                try await api.call(
                    .put, "/api/settings/assignment", authorization: tecnico.authorization, json: ["enabled": true]
                ).status == 403)
            for body: [String: Any] in [[:], ["capacity": 0], ["capacity": 201], ["capacity": "tres"], ["enabled": 1]] {
                let reply = try await api.call(.put, "/api/settings/assignment", authorization: admin, json: body)
                #expect(reply.status == 400, Comment(rawValue: "\(body): \(reply.text)"))
                #expect(reply.failure != nil)
            }
            let policy = try await api.call(.get, "/api/settings/assignment", authorization: admin).json()
            #expect(policy["enabled"] as? Bool == false)
            #expect(policy["capacity"] as? Int == 5)
            #expect(
                try await api.call(.put, "/api/settings/assignment", authorization: admin, json: ["enabled": true])
                    .status == 200)
            let audit = try await AuditTests.entries(api, "?action=settings", as: admin)
            #expect((audit.first?["details"] as? [String: String]) == ["activa": "true", "capacidad": "5"])
        }
    }
}
