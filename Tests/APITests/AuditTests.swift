import Foundation
import MostradorSQL
import Testing

@testable import MostradorAPI

/// The audit log: who did what and when — logins, assignment, transfers, resolving and closing, agent
/// administration, settings and merges of customers — read by admins only, with filters, and never a password.
@Suite struct AuditTests {
    static func entries(_ api: APITestSystem, _ query: String = "", as authorization: String) async throws
        -> [[String: Any]]
    {
        let reply = try await api.call(.get, "/api/audit" + query, authorization: authorization)
        try #require(reply.status == 200, Comment(rawValue: reply.text))
        return try #require(try reply.json()["entries"] as? [[String: Any]])
    }

    static func actions(_ entries: [[String: Any]]) -> [String] {
        entries.compactMap { $0["action"] as? String }
    }

    @Test func loginsAndAgentAdministrationAreRecordedWithoutSecrets() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let wrong = try await api.call(
                .post, "/api/auth/login/", json: ["username": "tecnico1", "password": "no-es-esta"])
            #expect(wrong.status == 401)
            let patched = try await api.call(
                .patch, "/api/agents/\(tecnico.id)/", authorization: admin,
                json: ["password": "otra-clave-123", "role": "admin"])
            #expect(patched.status == 200, Comment(rawValue: patched.text))
            #expect(try await api.call(.delete, "/api/agents/\(tecnico.id)/", authorization: admin).status == 200)
            #expect(try await api.call(.post, "/api/auth/logout/", authorization: admin).status == 200)

            let reader = try await api.admin()
            let all = try await Self.entries(api, as: reader)
            // Newest first.
            #expect(
                Array(Self.actions(all).prefix(7)) == [
                    "auth.login", "auth.logout", "agent.deactivate", "agent.update", "auth.login_failed",
                    "auth.login", "agent.create",
                ])
            let update = try #require(all.first { $0["action"] as? String == "agent.update" })
            #expect(update["actor"] as? String == APITestSystem.adminUser)
            #expect(update["actor_id"] as? Int != nil)
            #expect(update["target_type"] as? String == "agent")
            #expect(update["target_id"] as? String == tecnico.id)
            let details = try #require(update["details"] as? [String: String])
            #expect(details["usuario"] == "tecnico1")
            #expect(details["rol"] == "admin")
            #expect(details["contraseña"] == "cambiada")
            let failed = try #require(all.first { $0["action"] as? String == "auth.login_failed" })
            #expect(failed["actor"] as? String == "tecnico1")
            #expect(failed["actor_id"] is NSNull)
            #expect(failed["address"] as? String != nil)
            // No password or token is ever stored in the log.
            let stored = try await api.pool.read { db in
                try String.fetchAll(
                    db, sql: "SELECT coalesce(details, '') || coalesce(actor_name, '') FROM audit_log")
            }.joined()
            for secret in ["no-es-esta", "otra-clave-123", "password123", APITestSystem.adminPassword] {
                #expect(!stored.contains(secret), "\(secret) was stored")
            }
            let token = String(admin.dropFirst("Token ".count))
            #expect(!stored.contains(token))
        }
    }

    @Test func ticketChangesAreRecordedInTheirTransaction() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ana = try await api.agent("ana")
            let chat = try await api.guestChat()
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: ana.authorization).status
                    == 200)
            let luis = try await api.agent("luis")
            let transferred = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/transfer/", authorization: ana.authorization,
                json: ["agent_id": luis.id])
            #expect(transferred.status == 200, Comment(rawValue: transferred.text))
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/resolve/", authorization: admin).status == 200)
            // Resolving twice changes nothing and records nothing.
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/resolve/", authorization: admin)
            let other = try await api.whatsapp("5215550001111@s.whatsapp.net", "no prende")

            let ticket = try await Self.entries(api, "?ticket=\(chat.ticket)", as: admin)
            #expect(Self.actions(ticket) == ["ticket.resolve", "ticket.transfer", "ticket.take"])
            #expect(ticket.allSatisfy { $0["ticket_id"] as? Int == Int(chat.ticket) })
            let transfer = try #require(ticket.first { $0["action"] as? String == "ticket.transfer" })
            #expect(transfer["actor"] as? String == "ana")
            #expect(transfer["details"] as? [String: String] == ["de": "ana", "a": "luis"])
            let before = (ticket.first?["details"] as? [String: String])?["estado_anterior"]
            #expect(["new", "open", "waiting"].contains(before ?? "none"), Comment(rawValue: before ?? "none"))
            // `#123` is read as a ticket number too; a ticket with no changes has no entries.
            #expect(try await Self.entries(api, "?ticket=%23\(chat.ticket)", as: admin).count == 3)
            #expect(try await Self.entries(api, "?ticket=\(other)", as: admin).isEmpty)
            // An action family, an exact action, and an actor.
            #expect(Self.actions(try await Self.entries(api, "?action=ticket", as: admin)).count == 3)
            #expect(Self.actions(try await Self.entries(api, "?action=ticket.take", as: admin)) == ["ticket.take"])
            #expect(try await Self.entries(api, "?action=tick", as: admin).isEmpty)
            let byAna = try await Self.entries(api, "?actor=ANA", as: admin)
            #expect(Set(Self.actions(byAna)) == ["auth.login", "ticket.take", "ticket.transfer"])
        }
    }

    @Test func settingsAndMergesOfCustomersAreRecorded() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let label = try await LabelsTests.create(api, "Garantía", as: admin)
            let labelID = try #require(try label.json()["id"] as? Int)
            #expect(
                try await api.call(.patch, "/api/labels/\(labelID)", authorization: admin, json: ["color": "#000000"])
                    .status == 200)
            #expect(try await api.call(.delete, "/api/labels/\(labelID)", authorization: admin).status == 204)
            _ = try await CustomerMergeTests.post(api, ["remitente": CustomerMergeTests.phone, "contenido": "Hola"])
            _ = try await CustomerMergeTests.post(
                api, ["remitente": CustomerMergeTests.lid, "contenido": "Hola otra vez", "nombre": "L"])
            _ = try await CustomerMergeTests.post(
                api,
                ["remitente": CustomerMergeTests.lid, "remitente_alt": CustomerMergeTests.phone, "contenido": "Yo"])

            let labels = try await Self.entries(api, "?action=label", as: admin)
            #expect(Self.actions(labels) == ["label.delete", "label.update", "label.create"])
            #expect((labels.last?["details"] as? [String: String])?["nombre"] == "Garantía")
            let merges = try await Self.entries(api, "?action=customer.merge", as: admin)
            let merge = try #require(merges.first)
            #expect(merges.count == 1)
            #expect(merge["actor"] is NSNull)
            #expect(merge["target_type"] as? String == "customer")
            #expect(merge["target_id"] as? String == "1")
            #expect((merge["details"] as? [String: String])?["fusionado"] == "2")
        }
    }

    @Test func onlyAdminsReadItAndBadFiltersAreRefused() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            #expect(try await api.call(.get, "/api/audit").status == 401)
            let forbidden = try await api.call(.get, "/api/audit", authorization: tecnico.authorization)
            #expect(forbidden.status == 403)
            #expect(forbidden.failure != nil)
            for query in [
                "?since=ayer", "?until=2026-13-45", "?ticket=abc", "?ticket=-3", "?page=0", "?page_size=501",
                "?page=x",
            ] {
                let reply = try await api.call(.get, "/api/audit" + query, authorization: admin)
                #expect(reply.status == 400, Comment(rawValue: "\(query): \(reply.text)"))
                #expect(reply.failure != nil, Comment(rawValue: query))
            }
            // Days are UTC and `until` includes its whole day; instants are exact.
            let recorded = try await api.call(.get, "/api/audit", authorization: admin).json()["total"] as? Int
            #expect(recorded == 4)  // two logins of the admin, the technician's creation and login
            let now = Date()
            let today = String(now.ISO8601Format().prefix(10))
            #expect(try await Self.entries(api, "?since=\(today)&until=\(today)", as: admin).count == recorded)
            let tomorrow = String(now.addingTimeInterval(86_400).ISO8601Format().prefix(10))
            #expect(try await Self.entries(api, "?since=\(tomorrow)", as: admin).isEmpty)
            let past = now.addingTimeInterval(-3_600).ISO8601Format()
            #expect(try await Self.entries(api, "?until=\(past)", as: admin).isEmpty)
            // Pages.
            let page = try await api.call(.get, "/api/audit?page_size=2&page=2", authorization: admin).json()
            #expect(page["total"] as? Int == 4)
            #expect(page["pages"] as? Int == 2)
            #expect(
                (page["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == [
                    "auth.login", "auth.login",
                ])
        }
    }
}
