import Foundation
import Testing

@testable import MostradorAPI

/// CSV exports: admins only, streamed across pages, RFC 4180 quoting, no spreadsheet formulas from what customers
/// typed, filters, and the dashboard's figures per day.
@Suite struct ExportsTests {
    /// Fields of RFC 4180 CSV (quoted fields with doubled quotes and line breaks inside).
    static func parse(_ text: String, separator: Character = ",") -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == separator {
                row.append(field)
                field = ""
            } else if character == "\r\n" || character == "\n" {
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.append(character)
            }
        }
        if !field.isEmpty || !row.isEmpty { rows.append(row + [field]) }
        return rows
    }

    static func export(_ api: APITestSystem, _ path: String, as authorization: String) async throws -> (
        reply: APITestSystem.Reply, rows: [[String]]
    ) {
        let reply = try await api.call(.get, path, authorization: authorization)
        var text = reply.text
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return (reply, Self.parse(text, separator: path.contains("semicolon") ? ";" : ","))
    }

    @Test func ticketsAreStreamedAcrossPagesWithEveryRowOnce() async throws {
        try await APITestSystem.with(configure: { $0.exportPageSize = 2 }) { api in
            let admin = try await api.admin()
            var tickets: [Int64] = []
            for index in 0..<5 {
                tickets.append(
                    try await api.whatsapp("52155500010\(index)@s.whatsapp.net", "no prende el equipo \(index)"))
            }
            let hostile = try await api.whatsapp(
                "5215550001999@s.whatsapp.net", "=HYPERLINK(\"http://malo\",\"clic\"), con \"comillas\"; y\nsalto",
                name: "@SUM(1+1)")
            let (reply, rows) = try await Self.export(api, "/api/exports/tickets.csv", as: admin)
            #expect(reply.status == 200, Comment(rawValue: reply.text))
            #expect(reply.body.starts(with: [0xEF, 0xBB, 0xBF]))
            #expect(reply.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(reply.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"mostrador-tickets") == true)
            #expect(reply.headers[.cacheControl] == "no-store")
            let header = try #require(rows.first)
            #expect(header == ExportsController.ticketColumns)
            let body = rows.dropFirst()
            // Every ticket once, in order, across three pages of two.
            #expect(body.map { $0.first } == (tickets + [hostile]).map { String($0) })
            #expect(body.allSatisfy { $0.count == header.count })
            let row = try #require(body.last)
            func cell(_ name: String) -> String { row[header.firstIndex(of: name)!] }
            #expect(cell("cliente") == "'@SUM(1+1)")
            // The intake keeps the quotes and the comma; the quoting keeps them through the round trip.
            #expect(cell("descripcion").contains("con \"comillas\"; y"))
            // No cell of the whole export starts as a formula would.
            let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]
            #expect(
                body.allSatisfy { row in row.allSatisfy { cell in cell.first.map(formulaStarts.contains) != true } })
            #expect(cell("canal") == "whatsapp")
            #expect(cell("telefono_verificado") == "sí")
            #expect(!cell("creado").isEmpty)
            #expect(cell("mensajes") != "0")

            // Semicolons for spreadsheets that use a decimal comma.
            let semicolons = try await Self.export(api, "/api/exports/tickets.csv?separator=semicolon", as: admin)
            #expect(semicolons.rows.count == rows.count)
            #expect(semicolons.rows.first == header)

            // The export is in the audit log.
            let audit = try await AuditTests.entries(api, "?action=export", as: admin)
            #expect(AuditTests.actions(audit) == ["export.tickets", "export.tickets"])
            #expect((audit.first?["details"] as? [String: String])?.isEmpty == true)
        }
    }

    @Test func filtersChooseTheTickets() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let first = try await api.whatsapp("5215550002001@s.whatsapp.net", "no prende")
            let second = try await api.whatsapp("5215550002002@s.whatsapp.net", "no imprime")
            _ = try await LabelsTests.create(api, "Garantía", as: admin)
            _ = try await LabelsTests.setLabels(api, second, ["Garantía"], as: admin)
            _ = try await api.call(
                .post, "/api/chatrooms/\(try await CustomerHistoryTests.room(api, first))/close/", authorization: admin)

            func numbers(_ query: String) async throws -> [String] {
                let (reply, rows) = try await Self.export(api, "/api/exports/tickets.csv" + query, as: admin)
                try #require(reply.status == 200, Comment(rawValue: reply.text))
                return rows.dropFirst().compactMap(\.first)
            }
            #expect(try await numbers("?label=garantía") == [String(second)])
            #expect(try await numbers("?estado=cerrado") == [String(first)])
            #expect(try await numbers("?estado=closed,new") == [String(first), String(second)])
            let today = String(Date().ISO8601Format().prefix(10))
            #expect(try await numbers("?since=\(today)&until=\(today)").count == 2)
            let tomorrow = String(Date().addingTimeInterval(86_400).ISO8601Format().prefix(10))
            #expect(try await numbers("?since=\(tomorrow)").isEmpty)
            let labelled = try await Self.export(api, "/api/exports/tickets.csv?label=garantía", as: admin)
            let header = try #require(labelled.rows.first)
            #expect(labelled.rows.last?[header.firstIndex(of: "etiquetas")!] == "Garantía")
        }
    }

    @Test func theDashboardHasOneRowPerDay() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            _ = try await api.whatsapp("5215550003001@s.whatsapp.net", "no prende")
            _ = try await api.guestChat("no puedo entrar al correo")
            let today = Date()
            let day = Date.ISO8601FormatStyle().year().month().day()
            let since = day.format(today.addingTimeInterval(-6 * 86_400))
            let (reply, rows) = try await Self.export(
                api, "/api/exports/dashboard.csv?since=\(since)&until=\(day.format(today))", as: admin)
            #expect(reply.status == 200, Comment(rawValue: reply.text))
            #expect(rows.first == ExportsController.dashboardColumns)
            #expect(rows.count == 8)
            #expect(rows[1].first == since)
            let last = try #require(rows.last)
            let header = ExportsController.dashboardColumns
            func cell(_ name: String) -> String { last[header.firstIndex(of: name)!] }
            #expect(cell("fecha") == day.format(today))
            #expect(cell("tickets_nuevos") == "2")
            #expect(cell("whatsapp") == "1")
            #expect(cell("web") == "1")
            #expect(Int(cell("mensajes_de_clientes")) ?? 0 >= 2)
            #expect(rows[1][1] == "0")
            #expect(
                reply.headers[.contentDisposition]
                    == "attachment; filename=\"mostrador-panel-\(since)_\(day.format(today)).csv\"")
            // Thirty days up to today without dates.
            #expect(try await Self.export(api, "/api/exports/dashboard.csv", as: admin).rows.count == 31)
        }
    }

    @Test func onlyAdminsExportAndBadParametersAreRefused() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat()
            for path in ["/api/exports/tickets.csv", "/api/exports/dashboard.csv"] {
                #expect(try await api.call(.get, path).status == 401)
                #expect(try await api.call(.get, path, authorization: tecnico.authorization).status == 403)
                #expect(try await api.call(.get, path, authorization: chat.authorization).status == 403)
            }
            for query in [
                "tickets.csv?since=ayer", "tickets.csv?estado=perdido", "tickets.csv?categoria=Redes",
                "tickets.csv?separator=tab", "dashboard.csv?since=2026-12-05&until=2026-12-01",
                "dashboard.csv?since=2020-01-01&until=2026-12-01", "dashboard.csv?until=mañana",
            ] {
                let reply = try await api.call(.get, "/api/exports/" + query, authorization: admin)
                #expect(reply.status == 400, Comment(rawValue: "\(query): \(reply.text)"))
                #expect(reply.failure != nil, Comment(rawValue: query))
            }
            // Refused exports are not in the audit log.
            #expect(try await AuditTests.entries(api, "?action=export", as: admin).isEmpty)
        }
    }

    @Test func csvQuotingFollowsRFC4180() throws {
        let csv = try CSVFormat(separator: nil)
        var buffer = csv.rows([
            [.text("a,b"), .text("dijo \"hola\""), .text("línea\r\nnueva"), .text(nil), .number(3), .number(0.5)],
            [.text("-2"), .text("+5"), .text("\tx"), .text("normal"), .date(Date(timeIntervalSince1970: 0)), .empty],
        ])
        let text = buffer.readString(length: buffer.readableBytes) ?? ""
        #expect(
            text
                == "\"a,b\",\"dijo \"\"hola\"\"\",\"línea\r\nnueva\",,3,0.500\r\n'-2,'+5,'\tx,normal,1970-01-01T00:00:00Z,\r\n"
        )
        #expect(throws: APIError.self) { try CSVFormat(separator: "|") }
    }
}
