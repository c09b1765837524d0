import Foundation
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Labels: admins keep the catalogue, agents who may read a ticket label it, lists filter by a label, and the
/// classifier's category stays apart.
@Suite struct LabelsTests {
    static func create(_ api: APITestSystem, _ name: String, _ color: String = "#d97706", as authorization: String)
        async throws -> APITestSystem.Reply
    {
        try await api.call(.post, "/api/labels/", authorization: authorization, json: ["name": name, "color": color])
    }

    static func setLabels(_ api: APITestSystem, _ ticket: Int64, _ names: Any, as authorization: String) async throws
        -> APITestSystem.Reply
    {
        try await api.call(.put, "/api/tickets/\(ticket)/labels", authorization: authorization, json: ["labels": names])
    }

    static func labelNames(_ ticket: [String: Any]?) -> [String] {
        ((ticket?["etiquetas"] as? [[String: Any]]) ?? []).compactMap { $0["nombre"] as? String }
    }

    @Test func adminsKeepTheCatalogueAndAgentsReadIt() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let created = try await Self.create(api, "Garantía", "#D97706", as: admin)
            #expect(created.status == 201, Comment(rawValue: created.text))
            let label = try created.json()
            #expect(label["name"] as? String == "Garantía")
            #expect(label["color"] as? String == "#d97706")
            let id = try #require(label["id"] as? Int)
            #expect(try await Self.create(api, "Urgente", "#dc2626", as: admin).status == 201)
            // A technician reads the catalogue but cannot change it.
            #expect(try await Self.create(api, "Mía", as: tecnico.authorization).status == 403)
            let listed = try await api.call(.get, "/api/labels/", authorization: tecnico.authorization).list()
            #expect(listed.map { $0["name"] as? String } == ["Garantía", "Urgente"])
            #expect(listed.first?["tickets"] as? Int == 0)
            let patched = try await api.call(
                .patch, "/api/labels/\(id)", authorization: admin, json: ["name": "Garantía vigente"])
            #expect(try patched.json()["name"] as? String == "Garantía vigente")
            #expect(try patched.json()["color"] as? String == "#d97706")
            let forbidden = try await api.call(
                .delete, "/api/labels/\(id)", authorization: tecnico.authorization)
            #expect(forbidden.status == 403)
            #expect(try await api.call(.delete, "/api/labels/\(id)", authorization: admin).status == 204)
            #expect(try await api.call(.delete, "/api/labels/\(id)", authorization: admin).status == 404)
            #expect(try await api.call(.get, "/api/labels/", authorization: admin).list().count == 1)
        }
    }

    @Test func badLabelsAreRefusedWithAReason() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            #expect(try await Self.create(api, "Garantía", as: admin).status == 201)
            let duplicate = try await Self.create(api, "garantía", as: admin)
            #expect(duplicate.status == 409, Comment(rawValue: duplicate.text))
            #expect(duplicate.text.contains("Ya existe"))
            for (name, color) in [
                ("", "#000000"), ("   ", "#000000"), (String(repeating: "x", count: 41), "#000000"),
                ("Rojo", "red"), ("Rojo", "#12345"), ("Rojo", "#gggggg"), ("Rojo", ""),
            ] {
                let reply = try await Self.create(api, name, color, as: admin)
                #expect(reply.status == 400, Comment(rawValue: "\(name) \(color): \(reply.text)"))
                #expect(reply.failure != nil)
            }
            let missing = try await api.call(.post, "/api/labels/", authorization: admin, json: ["name": "Azul"])
            #expect(missing.status == 400)
            #expect(missing.text.contains("color"))
            let malformed = try await api.call(
                .post, "/api/labels/", authorization: admin, body: Data("{\"name\":".utf8),
                contentType: "application/json")
            #expect(malformed.status == 400)
            #expect(
                try await api.call(.patch, "/api/labels/999", authorization: admin, json: ["name": "X"]).status
                    == 404)
            #expect(try await api.call(.get, "/api/labels/", authorization: nil).status == 401)
            #expect(try await api.call(.get, "/api/labels/", authorization: admin).list().count == 1)
        }
    }

    @Test func agentsLabelTicketsAndListsFilterByLabel() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            for (name, color) in [("Garantía", "#d97706"), ("Urgente", "#dc2626"), ("VIP", "#7c3aed")] {
                #expect(try await Self.create(api, name, color, as: admin).status == 201)
            }
            let tecnico = try await api.agent("tecnico1")
            let labelled = try await api.whatsapp("5215550005551", "mi laptop no enciende")
            let other = try await api.whatsapp("5215550005552", "no tengo internet")
            let set = try await Self.setLabels(
                api, labelled, ["urgente", "Garantía", "Urgente"], as: tecnico.authorization)
            #expect(set.status == 200, Comment(rawValue: set.text))
            #expect(
                ((try set.json()["labels"] as? [[String: Any]]) ?? []).map { $0["name"] as? String }
                    == ["Garantía", "Urgente"])

            let all = try await api.call(.get, "/tickets", authorization: admin).list()
            #expect(Self.labelNames(all.first { $0["id"] as? Int == Int(labelled) }) == ["Garantía", "Urgente"])
            #expect(Self.labelNames(all.first { $0["id"] as? Int == Int(other) }) == [])
            let filtered = try await api.call(.get, "/tickets?label=urgente", authorization: admin).list()
            #expect(filtered.map { $0["id"] as? Int } == [Int(labelled)])
            #expect(try await api.call(.get, "/tickets?label=VIP", authorization: admin).list().isEmpty)
            let rooms = try await api.call(
                .get, "/api/chatrooms/filtered_chats/?label=Garant%C3%ADa", authorization: admin
            ).json()
            let chats = try #require(rooms["chats"] as? [[String: Any]])
            #expect(chats.map { $0["ticket_id"] as? Int } == [Int(labelled)])
            #expect(((chats.first?["labels"] as? [[String: Any]]) ?? []).count == 2)
            let conversation = try await api.call(.get, "/ticket/\(labelled)/conversacion", authorization: admin)
            #expect(Self.labelNames(try conversation.json()["ticket"] as? [String: Any]) == ["Garantía", "Urgente"])
            // The category is the classifier's, untouched by labels.
            #expect((try conversation.json()["ticket"] as? [String: Any])?["categoria"] as? String == "unknown")

            // An unknown name refuses the whole change; [] clears.
            let unknown = try await Self.setLabels(api, labelled, ["VIP", "Inventada"], as: admin)
            #expect(unknown.status == 400)
            #expect(unknown.text.contains("Inventada"))
            #expect(try await api.call(.get, "/tickets?label=VIP", authorization: admin).list().isEmpty)
            #expect(try await Self.setLabels(api, labelled, [] as [String], as: admin).status == 200)
            #expect(try await api.call(.get, "/tickets?label=urgente", authorization: admin).list().isEmpty)
            // Deleting a label takes it off its tickets.
            #expect(try await Self.setLabels(api, other, ["VIP"], as: admin).status == 200)
            let vip = try await api.call(.get, "/api/labels/", authorization: admin).list()
                .first { $0["name"] as? String == "VIP" }
            #expect(vip?["tickets"] as? Int == 1)
            #expect(
                try await api.call(.delete, "/api/labels/\(vip?["id"] as? Int ?? 0)", authorization: admin).status
                    == 204)
            let afterDelete = try await api.call(.get, "/tickets", authorization: admin).list()
            #expect(Self.labelNames(afterDelete.first { $0["id"] as? Int == Int(other) }) == [])
        }
    }

    @Test func onlyAgentsWhoMayReadATicketLabelIt() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            #expect(try await Self.create(api, "Garantía", as: admin).status == 201)
            let owner = try await api.agent("luis")
            let outsider = try await api.agent("ana")
            let ticket = try await api.whatsapp("5215550005553", "la impresora atasca papel")
            let uuid = try #require(
                (try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()["ticket"]
                    as? [String: Any])?["uuid"] as? String)
            #expect(
                try await api.call(.post, "/api/chatrooms/\(uuid)/take/", authorization: owner.authorization).status
                    == 200)
            #expect(try await Self.setLabels(api, ticket, ["Garantía"], as: outsider.authorization).status == 403)
            #expect(try await Self.setLabels(api, ticket, ["Garantía"], as: owner.authorization).status == 200)
            // The outsider's list does not reveal the ticket through the filter either.
            #expect(
                try await api.call(.get, "/tickets?label=Garantía", authorization: outsider.authorization).list()
                    .isEmpty)
            let guest = try await api.guestChat()
            #expect(try await Self.setLabels(api, guest.ticket, ["Garantía"], as: guest.authorization).status == 403)
            #expect(try await Self.setLabels(api, 999_999, ["Garantía"], as: admin).status == 404)
            #expect(try await Self.setLabels(api, ticket, "Garantía", as: admin).status == 400)
            let tooMany = try await Self.setLabels(api, ticket, (0..<21).map { "e\($0)" }, as: admin)
            #expect(tooMany.status == 400)
        }
    }
}
