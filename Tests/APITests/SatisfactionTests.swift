import Foundation
import MostradorSQL
import Testing

@testable import MostradorAPI

/// The satisfaction survey: asked once when a ticket is first resolved, answered on WhatsApp with a number (and a
/// comment) without reopening the ticket, or with the web chat's buttons; results per agent and per day for admins.
@Suite struct SatisfactionTests {
    @Test func ratingsAreReadFromWhatCustomersWrite() {
        #expect(Satisfaction.parse("5")?.rating == 5)
        #expect(Satisfaction.parse("5")?.comment == nil)
        #expect(Satisfaction.parse(" 4 muy buena atención ")?.comment == "muy buena atención")
        #expect(Satisfaction.parse("3, tardaron un poco")?.rating == 3)
        #expect(Satisfaction.parse("3, tardaron un poco")?.comment == "tardaron un poco")
        #expect(Satisfaction.parse("⭐⭐⭐")?.rating == 3)
        #expect(Satisfaction.parse("5 estrellas")?.comment == nil)
        #expect(Satisfaction.parse("4/5")?.rating == 4)
        #expect(Satisfaction.parse("4/5")?.comment == nil)
        for text in ["10", "0", "6", "hola", "", "⭐⭐⭐⭐⭐⭐", "12 de diciembre"] {
            #expect(Satisfaction.parse(text) == nil, "\(text)")
        }
    }

    static func status(_ api: APITestSystem, _ ticket: Int64) async throws -> String? {
        try await api.pool.read { db in
            try String.fetchOne(db, sql: "SELECT status FROM tickets WHERE id = ?", arguments: [ticket])
        }
    }

    @Test func aWhatsAppCustomerRatesWithANumberAndTheTicketStaysResolved() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let sender = "5215550009001@s.whatsapp.net"
            let ticket = try await api.whatsapp(sender, "no prende mi laptop")
            let room = try await CustomerHistoryTests.room(api, ticket)
            #expect(try await api.call(.post, "/api/chatrooms/\(room)/resolve/", authorization: admin).status == 200)
            #expect(try await api.relaySends().filter { $0.text.contains("¿Cómo calificarías") }.count == 1)

            #expect(try await api.whatsapp(sender, "5 excelente servicio, gracias") == ticket)
            #expect(try await Self.status(api, ticket) == "resolved")
            #expect(try await api.relaySends().contains { $0.text.contains("¡Gracias por tu calificación!") })
            // Answered: the next message is a message, and it reopens the ticket.
            _ = try await api.whatsapp(sender, "4")
            #expect(try await Self.status(api, ticket) == "open")
            // Resolving again does not ask again.
            _ = try await api.call(.post, "/api/chatrooms/\(room)/resolve/", authorization: admin)
            #expect(try await api.relaySends().filter { $0.text.contains("¿Cómo calificarías") }.count == 1)

            // A customer who answers with words reopens the ticket and the survey stays open.
            let other = try await api.whatsapp("5215550009002@s.whatsapp.net", "no imprime")
            let otherRoom = try await CustomerHistoryTests.room(api, other)
            _ = try await api.call(.post, "/api/chatrooms/\(otherRoom)/resolve/", authorization: admin)
            _ = try await api.whatsapp("5215550009002@s.whatsapp.net", "sigue sin imprimir")
            #expect(try await Self.status(api, other) == "open")

            let report = try await api.call(.get, "/api/csat", authorization: admin).json()
            #expect(report["asked"] as? Int == 2)
            #expect(report["responses"] as? Int == 1)
            #expect(report["average"] as? Double == 5)
            #expect(report["distribution"] as? [Int] == [0, 0, 0, 0, 1])
            let comments = try #require(report["comments"] as? [[String: Any]])
            #expect(comments.first?["comment"] as? String == "excelente servicio, gracias")
            #expect(comments.first?["ticket_id"] as? Int == Int(ticket))
            let perAgent = try #require(report["per_agent"] as? [[String: Any]])
            #expect(perAgent.first?["clave"] as? String == APITestSystem.adminUser)
        }
    }

    @Test func aWebVisitorRatesOnceWithTheButtons() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat("no entra el correo")
            let other = try await api.guestChat("otra cosa")
            func rate(_ body: [String: Any], as authorization: String?) async throws -> APITestSystem.Reply {
                try await api.call(.post, "/api/chat/rate/", authorization: authorization, json: body)
            }
            // Not resolved yet: nothing to rate.
            #expect(try await rate(["chat_room_id": chat.room, "rating": 4], as: chat.authorization).status == 409)
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: tecnico.authorization)
                    .status == 200)
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/resolve/", authorization: tecnico.authorization)
                    .status == 200)
            let messages = try await api.call(
                .get, "/api/chatrooms/\(chat.room)/messages/", authorization: chat.authorization)
            #expect(messages.text.contains("¿Cómo calificarías"))

            for (body, authorization, expected) in [
                (["chat_room_id": chat.room, "rating": 6] as [String: Any], chat.authorization, 400),
                (["chat_room_id": chat.room, "rating": "cinco"], chat.authorization, 400),
                (["chat_room_id": chat.room], chat.authorization, 400),
                (["rating": 4], chat.authorization, 400),
                (["chat_room_id": chat.room, "rating": 4], nil, 401),
                (["chat_room_id": chat.room, "rating": 4], other.authorization, 404),
                (["chat_room_id": chat.room, "rating": 4], admin, 403),
            ] as [([String: Any], String?, Int)] {
                let reply = try await rate(body, as: authorization)
                #expect(reply.status == expected, Comment(rawValue: "\(body): \(reply.text)"))
            }
            let rated = try await rate(
                ["chat_room_id": chat.room, "rating": 4, "comment": "rápido y amable"], as: chat.authorization)
            #expect(rated.status == 200, Comment(rawValue: rated.text))
            #expect(try await rate(["chat_room_id": chat.room, "rating": 1], as: chat.authorization).status == 409)

            let report = try await api.call(.get, "/api/csat", authorization: admin).json()
            #expect(report["responses"] as? Int == 1)
            let perAgent = try #require(report["per_agent"] as? [[String: Any]])
            #expect(perAgent.first?["clave"] as? String == "tecnico1")
            #expect(perAgent.first?["average"] as? Double == 4)
            #expect(try await api.call(.get, "/api/csat", authorization: tecnico.authorization).status == 403)
            #expect(try await api.call(.get, "/api/csat?since=ayer", authorization: admin).status == 400)
        }
    }
}
