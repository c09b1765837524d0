import Foundation
import MostradorSQL

/// What the CSV exports read: tickets in pages (by number, so a long export never holds more than a page) and the
/// dashboard's figures per day.
struct Exports: Sendable {
    let reader: SQLDatabase

    struct TicketFilter: Sendable {
        var since: Date?
        var until: Date?
        var statuses: [TicketStatus] = []
        var category: String?
        var label: String?
    }

    struct TicketRow: Sendable {
        let summary: TicketSummary
        let agent: String?
        let messages: Int
    }

    /// Up to `limit` tickets numbered above `after`, oldest first.
    func tickets(_ filter: TicketFilter, after: Int64, limit: Int) async throws -> [TicketRow] {
        try await reader.read { db in
            var conditions = ["t.id > ?"]
            var arguments: StatementArguments = [after]
            if let since = filter.since {
                conditions.append("t.created_at >= ?")
                arguments += [since]
            }
            if let until = filter.until {
                conditions.append("t.created_at < ?")
                arguments += [until]
            }
            if !filter.statuses.isEmpty {
                conditions.append("t.status IN (\(filter.statuses.map { _ in "?" }.joined(separator: ",")))")
                arguments += StatementArguments(filter.statuses)
            }
            Tickets.filter(category: filter.category, label: filter.label, into: &conditions, &arguments)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Tickets.summaryColumns),
                        (SELECT username FROM agents a WHERE a.id = t.assigned_agent_id) AS agent_username,
                        (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = t.id AND NOT m.private) AS message_count
                    \(Tickets.from) WHERE \(conditions.joined(separator: " AND ")) ORDER BY t.id LIMIT ?
                    """,
                arguments: arguments + [limit]
            ).map {
                TicketRow(summary: TicketSummary(row: $0), agent: $0["agent_username"], messages: $0["message_count"])
            }
        }
    }

    struct Day: Sendable, Equatable {
        var date: String
        var created = 0
        var whatsapp = 0
        var web = 0
        var hardware = 0
        var software = 0
        var uncategorised = 0
        var answered = 0
        var averageFirstResponseSeconds: Double?
        var resolved = 0
        var closed = 0
        var customerMessages = 0
        var technicianMessages = 0
    }

    /// The dashboard's figures for each UTC day from `since` (a day's start) up to `until` (exclusive).
    func days(since: Date, until: Date) async throws -> [Day] {
        try await reader.read { db in
            let formatter = Date.ISO8601FormatStyle().year().month().day()
            var days: [String: Day] = [:]
            var order: [String] = []
            var day = since
            while day < until {
                let key = formatter.format(day)
                days[key] = Day(date: key)
                order.append(key)
                day = day.addingTimeInterval(86_400)
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT date(created_at) AS day, COUNT(*) AS n,
                        SUM(channel = 'whatsapp') AS whatsapp, SUM(channel = 'web') AS web,
                        SUM(category = 'Hardware') AS hardware, SUM(category = 'Software') AS software,
                        SUM(category = 'unknown') AS uncategorised, COUNT(first_response_at) AS answered,
                        AVG(CASE WHEN first_response_at IS NOT NULL
                            THEN (julianday(first_response_at) - julianday(created_at)) * 86400 END) AS response
                    FROM tickets WHERE created_at >= ? AND created_at < ? GROUP BY day
                    """, arguments: [since, until])
            {
                guard let key = row["day"] as String?, var figures = days[key] else { continue }
                figures.created = row["n"]
                figures.whatsapp = row["whatsapp"]
                figures.web = row["web"]
                figures.hardware = row["hardware"]
                figures.software = row["software"]
                figures.uncategorised = row["uncategorised"]
                figures.answered = row["answered"]
                figures.averageFirstResponseSeconds = row["response"]
                days[key] = figures
            }
            for (column, keyPath) in [("resolved_at", \Day.resolved), ("closed_at", \Day.closed)] {
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT date(\(column)) AS day, COUNT(*) AS n FROM tickets
                        WHERE \(column) >= ? AND \(column) < ? GROUP BY day
                        """, arguments: [since, until])
                {
                    if let key = row["day"] as String?, days[key] != nil { days[key]![keyPath: keyPath] = row["n"] }
                }
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT date(created_at) AS day, SUM(role = 'user') AS customer, SUM(role = 'tecnico') AS technician
                    FROM messages WHERE created_at >= ? AND created_at < ? AND NOT private GROUP BY day
                    """, arguments: [since, until])
            {
                guard let key = row["day"] as String?, var figures = days[key] else { continue }
                figures.customerMessages = row["customer"]
                figures.technicianMessages = row["technician"]
                days[key] = figures
            }
            return order.compactMap { days[$0] }
        }
    }
}
