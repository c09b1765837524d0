import Foundation
import MostradorContracts
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Business hours: open and closed instants in the shop's zone, holidays, business time between two instants, the
/// away message once per ticket with the intake still running, and the setting's validation.
@Suite struct BusinessHoursTests {
    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    /// Monday to Friday 9–18, Saturday 9–14, in Mexico City (UTC−6, no daylight saving time since 2022).
    static let shop: BusinessHours = {
        var hours = BusinessHours()
        hours.enabled = true
        hours.holidays = ["2026-12-25"]
        return hours
    }()

    @Test func openAndClosedFollowTheZoneTheWeekAndHolidays() {
        // Thursday 3 December 2026.
        #expect(Self.shop.isOpen(at: Self.date("2026-12-03T15:00:00Z")))  // 09:00 local
        #expect(!Self.shop.isOpen(at: Self.date("2026-12-03T14:59:00Z")))  // 08:59
        #expect(!Self.shop.isOpen(at: Self.date("2026-12-04T00:00:00Z")))  // 18:00, closing time
        #expect(Self.shop.isOpen(at: Self.date("2026-12-05T19:00:00Z")))  // Saturday 13:00
        #expect(!Self.shop.isOpen(at: Self.date("2026-12-05T20:30:00Z")))  // Saturday 14:30
        #expect(!Self.shop.isOpen(at: Self.date("2026-12-06T18:00:00Z")))  // Sunday noon
        #expect(!Self.shop.isOpen(at: Self.date("2026-12-25T18:00:00Z")))  // Christmas, a Friday
        // Friday 17:00 to Monday 10:00: one hour on Friday, five on Saturday, one on Monday.
        let weekend = Self.shop.businessSeconds(
            from: Self.date("2026-12-04T23:00:00Z"), to: Self.date("2026-12-07T16:00:00Z"))
        #expect(weekend == 7 * 3600)
        #expect(
            Self.shop.businessSeconds(from: Self.date("2026-12-07T16:00:00Z"), to: Self.date("2026-12-07T15:00:00Z"))
                == 0)
    }

    static func configure(_ api: APITestSystem, _ body: [String: Any], as authorization: String) async throws
        -> APITestSystem.Reply
    {
        try await api.call(.put, "/api/settings/business-hours", authorization: authorization, json: body)
    }

    static let closedAllWeek = Dictionary(uniqueKeysWithValues: (1...7).map { (String($0), [[String]]()) })
    static let openAllWeek = Dictionary(uniqueKeysWithValues: (1...7).map { (String($0), [["00:00", "24:00"]]) })

    @Test func outOfHoursTheCustomerGetsTheAwayMessageOnceAndTheIntakeStillRuns() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let closed = try await Self.configure(
                api, ["enabled": true, "time_zone": "America/Mexico_City", "week": Self.closedAllWeek], as: admin)
            #expect(closed.status == 200, Comment(rawValue: closed.text))
            let ticket = try await api.whatsapp("5215550008001@s.whatsapp.net", "hola, mi laptop no prende")
            _ = try await api.whatsapp("5215550008001@s.whatsapp.net", "me llamo Rosa")
            let conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()
            let history = try #require(conversation["historial"] as? [[String: Any]])
            let away = history.filter {
                ($0["content"] as? String)?.contains("fuera de nuestro horario") == true
            }
            #expect(away.count == 1)
            #expect(away.first?["role"] as? String == "assistant")
            // The intake asked its questions too.
            #expect(history.filter { $0["role"] as? String == "assistant" }.count >= 2)
            #expect((conversation["ticket"] as? [String: Any])?["fuera_de_horario"] as? Bool == true)
            // It went to WhatsApp through the relay.
            #expect(try await api.relaySends().filter { $0.text.contains("fuera de nuestro horario") }.count == 1)

            // Open around the clock: no away message, and the ticket is not marked.
            #expect(
                try await Self.configure(
                    api,
                    ["enabled": true, "week": Self.openAllWeek, "away_message": "Volvemos pronto"], as: admin
                ).status == 200)
            let inHours = try await api.whatsapp("5215550008002@s.whatsapp.net", "no imprime")
            let second = try await api.call(.get, "/ticket/\(inHours)/conversacion", authorization: admin).json()
            #expect((second["ticket"] as? [String: Any])?["fuera_de_horario"] as? Bool == false)
            #expect(!(try await api.relaySends().contains { $0.text == "Volvemos pronto" }))

            // A web visitor out of hours gets the admin's own message.
            _ = try await Self.configure(
                api, ["enabled": true, "week": Self.closedAllWeek, "away_message": "Volvemos pronto"], as: admin)
            let chat = try await api.guestChat("necesito ayuda")
            let messages = try await api.call(
                .get, "/api/chatrooms/\(chat.room)/messages/", authorization: chat.authorization)
            #expect(messages.text.contains("Volvemos pronto"))
            let audit = try await AuditTests.entries(api, "?action=settings.business_hours", as: admin)
            #expect(audit.count == 3)
        }
    }

    @Test func theDashboardCountsFirstResponsesInBusinessTime() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let ticket = try await api.whatsapp("5215550008101@s.whatsapp.net", "no prende")
            // Created Friday 17:00 local, answered Monday 10:00: 65 hours, of which 7 are business hours.
            try await api.pool.write { db in
                try db.execute(
                    sql: "UPDATE tickets SET created_at = ?, first_response_at = ? WHERE id = ?",
                    arguments: [Self.date("2026-12-04T23:00:00Z"), Self.date("2026-12-07T16:00:00Z"), ticket])
            }
            let off = try await api.call(.get, "/api/dashboard?days=365", authorization: admin).json()
            let offFirst = try #require(off["first_response"] as? [String: Any])
            #expect(offFirst["business_average_seconds"] is NSNull)
            _ = try await Self.configure(api, ["enabled": true, "holidays": ["2026-12-25"]], as: admin)
            let on = try await api.call(.get, "/api/dashboard?days=365", authorization: admin).json()
            let first = try #require(on["first_response"] as? [String: Any])
            #expect(abs((first["average_seconds"] as? Double ?? 0) - 65 * 3600) < 1)
            #expect(abs((first["business_average_seconds"] as? Double ?? 0) - 7 * 3600) < 1)
        }
    }

    @Test func onlyAdminsChangeTheHoursAndBadOnesAreRefused() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let shown = try await api.call(.get, "/api/settings/business-hours", authorization: tecnico.authorization)
            #expect(shown.status == 200)
            #expect(try shown.json()["enabled"] as? Bool == false)
            #expect(try shown.json()["time_zone"] as? String == "America/Mexico_City")
            #expect(try await Self.configure(api, ["enabled": true], as: tecnico.authorization).status == 403)
            #expect(try await api.call(.get, "/api/settings/business-hours").status == 401)
            for body: [String: Any] in [
                ["time_zone": "Marte/Olympus"], ["week": ["8": [["09:00", "18:00"]]]],
                ["week": ["1": [["18:00", "09:00"]]]], ["week": ["1": [["25:00", "26:00"]]]],
                ["week": ["1": [["9:00", "18:00"]]]], ["week": ["1": [["09:00"]]]], ["holidays": ["25/12/2026"]],
                ["away_message": "   "], ["away_message": String(repeating: "a", count: 1001)], ["enabled": "sí"],
            ] {
                let reply = try await Self.configure(api, body, as: admin)
                #expect(reply.status == 400, Comment(rawValue: "\(body): \(reply.text)"))
                #expect(reply.failure != nil)
            }
            #expect(
                try await api.call(.get, "/api/settings/business-hours", authorization: admin).json()["enabled"]
                    as? Bool == false)
        }
    }
}
