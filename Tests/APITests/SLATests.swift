import Foundation
import MostradorSQL
import Testing

@testable import MostradorAPI

/// SLA policies: the most specific policy applies, tickets show their targets and time left, a missed target is
/// announced once to the ticket's agent (or the admins), and the dashboard counts the misses.
@Suite struct SLATests {
    static func create(_ api: APITestSystem, _ body: [String: Any], as authorization: String) async throws
        -> APITestSystem.Reply
    {
        try await api.call(.post, "/api/sla-policies", authorization: authorization, json: body)
    }

    static func sla(_ api: APITestSystem, _ ticket: Int64, as authorization: String) async throws -> [String: Any] {
        let reply = try await api.call(.get, "/api/tickets/\(ticket)/sla", authorization: authorization)
        try #require(reply.status == 200, Comment(rawValue: reply.text))
        return try reply.json()
    }

    static func category(_ api: APITestSystem, _ ticket: Int64, _ category: String) async throws {
        try await api.pool.write { db in
            try db.execute(sql: "UPDATE tickets SET category = ? WHERE id = ?", arguments: [category, ticket])
        }
    }

    @Test func theMostSpecificPolicyAppliesAndTicketsShowTheirTargets() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            _ = try await LabelsTests.create(api, "VIP", as: admin)
            for body: [String: Any] in [
                ["name": "General", "first_response_minutes": 60, "resolution_minutes": 480],
                ["name": "Hardware", "category": "Hardware", "first_response_minutes": 30],
                ["name": "Clientes VIP", "label": "vip", "first_response_minutes": 10, "resolution_minutes": 120],
            ] {
                let reply = try await Self.create(api, body, as: admin)
                #expect(reply.status == 201, Comment(rawValue: reply.text))
            }
            let hardware = try await api.whatsapp("5215550006001@s.whatsapp.net", "no prende")
            let vip = try await api.whatsapp("5215550006002@s.whatsapp.net", "no prende la impresora")
            let software = try await api.whatsapp("5215550006003@s.whatsapp.net", "no abre el programa")
            try await Self.category(api, hardware, "Hardware")
            try await Self.category(api, vip, "Hardware")
            try await Self.category(api, software, "Software")
            _ = try await LabelsTests.setLabels(api, vip, ["VIP"], as: admin)

            #expect(
                (try await Self.sla(api, hardware, as: admin)["policy"] as? [String: Any])?["name"] as? String
                    == "Hardware")
            #expect(
                (try await Self.sla(api, vip, as: admin)["policy"] as? [String: Any])?["name"] as? String
                    == "Clientes VIP")
            let general = try await Self.sla(api, software, as: admin)
            #expect((general["policy"] as? [String: Any])?["name"] as? String == "General")
            let first = try #require(general["first_response"] as? [String: Any])
            let remaining = try #require(first["remaining_seconds"] as? Int)
            #expect((3_500...3_600).contains(remaining))
            #expect(first["breached"] as? Bool == false)
            #expect(first["met_at"] is NSNull)
            // The Hardware policy has no resolution target.
            #expect(try await Self.sla(api, hardware, as: admin)["resolution"] is NSNull)

            // A technician's reply meets the first-response target.
            let room = try await CustomerHistoryTests.room(api, software)
            let sent = try await api.call(
                .post, "/api/chatrooms/\(room)/send_message/", authorization: admin,
                json: ["content": "Hola, ¿qué programa?"])
            #expect(sent.status == 201, Comment(rawValue: sent.text))
            let answered = try #require(
                try await Self.sla(api, software, as: admin)["first_response"] as? [String: Any])
            #expect(answered["met_at"] as? String != nil)
            #expect(answered["remaining_seconds"] is NSNull)
            #expect(answered["breached"] as? Bool == false)

            // Without a matching policy there is none.
            let policies = try await api.call(.get, "/api/sla-policies", authorization: admin).list()
            for policy in policies {
                _ = try await api.call(.delete, "/api/sla-policies/\(policy["id"] as! Int)", authorization: admin)
            }
            #expect(try await Self.sla(api, software, as: admin)["policy"] is NSNull)
        }
    }

    @Test func aMissedTargetIsAnnouncedOnceAndCounted() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            _ = try await Self.create(
                api, ["name": "General", "first_response_minutes": 15, "resolution_minutes": 60], as: admin)
            let mine = try await api.whatsapp("5215550007001@s.whatsapp.net", "no prende")
            let nobodys = try await api.whatsapp("5215550007002@s.whatsapp.net", "no imprime")
            let room = try await CustomerHistoryTests.room(api, mine)
            #expect(
                try await api.call(.post, "/api/chatrooms/\(room)/take/", authorization: tecnico.authorization).status
                    == 200)
            let policies = SLAPolicies(committer: api.components.committer)
            #expect(try await policies.recordBreaches(now: Date()).isEmpty)

            // Twenty minutes later the first-response targets are missed (taking a chat is not replying).
            let later = Date().addingTimeInterval(20 * 60)
            let breaches = try await policies.recordBreaches(now: later)
            #expect(Set(breaches.map(\.ticketID)) == [mine, nobodys])
            #expect(breaches.allSatisfy { $0.kind == "first_response" })
            let adminID = try await api.pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT id FROM agents WHERE username = ?", arguments: ["admin"])
            }
            #expect(breaches.first { $0.ticketID == nobodys }?.notified == [try #require(adminID)])
            let tecnicoID = try await api.pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT id FROM agents WHERE username = ?", arguments: ["tecnico1"])
            }
            #expect(breaches.first { $0.ticketID == mine }?.notified == [try #require(tecnicoID)])
            // Once.
            #expect(try await policies.recordBreaches(now: later.addingTimeInterval(60)).isEmpty)
            // An hour and a half later the resolution targets go too.
            let resolution = try await policies.recordBreaches(now: later.addingTimeInterval(90 * 60))
            #expect(resolution.count == 2)
            #expect(resolution.allSatisfy { $0.kind == "resolution" })

            let notifications = try await api.call(
                .get, "/api/notifications/", authorization: tecnico.authorization)
            #expect(notifications.text.contains("venció el plazo de la primera respuesta"))
            let dashboard = try await api.call(.get, "/api/dashboard", authorization: admin).json()
            #expect(dashboard["sla_breaches"] as? [String: Int] == ["first_response": 2, "resolution": 2])
        }
    }

    @Test func onlyAdminsKeepPoliciesAndBadOnesAreRefused() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat()
            #expect(try await api.call(.get, "/api/sla-policies").status == 401)
            #expect(try await api.call(.get, "/api/sla-policies", authorization: tecnico.authorization).status == 200)
            #expect(
                try await Self.create(api, ["name": "X", "first_response_minutes": 5], as: tecnico.authorization)
                    .status == 403)
            #expect(
                try await api.call(.get, "/api/tickets/\(chat.ticket)/sla", authorization: chat.authorization).status
                    == 403)
            for body: [String: Any] in [
                [:], ["name": "Sin metas"], ["name": "", "first_response_minutes": 5],
                ["name": "Cero", "first_response_minutes": 0], ["name": "Enorme", "resolution_minutes": 600_000],
                ["name": "Al revés", "first_response_minutes": 60, "resolution_minutes": 30],
                ["name": "Red", "category": "Redes", "first_response_minutes": 5],
                ["name": "Etiqueta", "label": "no-existe", "first_response_minutes": 5],
                ["name": "Texto", "first_response_minutes": "cinco"],
            ] {
                let reply = try await Self.create(api, body, as: admin)
                #expect(reply.status == 400, Comment(rawValue: "\(body): \(reply.text)"))
                #expect(reply.failure != nil)
            }
            #expect(
                try await Self.create(api, ["name": "General", "first_response_minutes": 5], as: admin).status == 201)
            #expect(
                try await Self.create(api, ["name": "general", "first_response_minutes": 9], as: admin).status == 409)
            #expect(
                try await api.call(
                    .put, "/api/sla-policies/999", authorization: admin,
                    json: ["name": "X", "first_response_minutes": 5]
                ).status == 404)
            #expect(try await api.call(.get, "/api/sla-policies", authorization: admin).list().count == 1)
            let audit = try await AuditTests.entries(api, "?action=sla", as: admin)
            #expect(AuditTests.actions(audit) == ["sla.create"])
        }
    }
}
