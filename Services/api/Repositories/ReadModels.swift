import Foundation
import MostradorSQL

/// Aggregates the panel shows: the dashboard and a conversation's statistics. Reads only.
struct ReadModels: Sendable {
    let reader: SQLDatabase

    struct Dashboard: Sendable {
        struct Day: Sendable {
            let date: String
            let count: Int
            let averageResponseSeconds: Double?
        }

        let days: Int
        let perDay: [Day]
        let categories: [String: Int]
        let averageResponseSeconds: Double?
        let medianResponseSeconds: Double?
        let answered: Int
        let openTickets: Int
        /// SLA targets missed in the period, by kind (`first_response`, `resolution`).
        var slaBreaches: [String: Int] = ["first_response": 0, "resolution": 0]
        /// First responses in business time (when business hours are on).
        var businessAverageResponseSeconds: Double?
        var businessMedianResponseSeconds: Double?
    }

    /// Tickets per day, Hardware vs Software and first response times over the last `days` days.
    func dashboard(days: Int, now: Date = Date()) async throws -> Dashboard {
        let since = Calendar(identifier: .gregorian).startOfDay(for: now).addingTimeInterval(-Double(days - 1) * 86400)
        return try await reader.read { db in
            let perDay = try Row.fetchAll(
                db,
                sql: """
                    SELECT date(created_at) AS day, COUNT(*) AS n,
                        AVG(CASE WHEN first_response_at IS NOT NULL
                            THEN (julianday(first_response_at) - julianday(created_at)) * 86400 END) AS response
                    FROM tickets WHERE created_at >= ? GROUP BY day ORDER BY day
                    """, arguments: [since])
            var byDay: [String: (Int, Double?)] = [:]
            for row in perDay { byDay[row["day"]] = (row["n"], row["response"]) }
            let formatter = Date.ISO8601FormatStyle().year().month().day()
            let days = (0..<days).map { offset in
                let day = formatter.format(since.addingTimeInterval(Double(offset) * 86400))
                return Dashboard.Day(
                    date: day, count: byDay[day]?.0 ?? 0, averageResponseSeconds: byDay[day]?.1 ?? nil)
            }
            var categories = ["Hardware": 0, "Software": 0, "unknown": 0]
            for row in try Row.fetchAll(
                db, sql: "SELECT category, COUNT(*) AS n FROM tickets WHERE created_at >= ? GROUP BY category",
                arguments: [since])
            {
                categories[row["category"]] = row["n"]
            }
            let times = try Double.fetchAll(
                db,
                sql: """
                    SELECT (julianday(first_response_at) - julianday(created_at)) * 86400 FROM tickets
                    WHERE created_at >= ? AND first_response_at IS NOT NULL ORDER BY 1
                    """, arguments: [since])
            let open =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tickets WHERE status NOT IN ('resolved', 'closed')")
                ?? 0
            var dashboard = Dashboard(
                days: days.count, perDay: days, categories: categories,
                averageResponseSeconds: times.isEmpty ? nil : times.reduce(0, +) / Double(times.count),
                medianResponseSeconds: times.isEmpty ? nil : times[times.count / 2], answered: times.count,
                openTickets: open)
            for row in try Row.fetchAll(
                db, sql: "SELECT kind, COUNT(*) AS n FROM sla_breaches WHERE due_at >= ? GROUP BY kind",
                arguments: [since])
            {
                dashboard.slaBreaches[row["kind"]] = row["n"]
            }
            let hours = try BusinessHours.read(db: db)
            if hours.enabled {
                let business = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT created_at, first_response_at FROM tickets
                        WHERE created_at >= ? AND first_response_at IS NOT NULL
                        """, arguments: [since]
                ).map { hours.businessSeconds(from: $0["created_at"], to: $0["first_response_at"]) }.sorted()
                if !business.isEmpty {
                    dashboard.businessAverageResponseSeconds = business.reduce(0, +) / Double(business.count)
                    dashboard.businessMedianResponseSeconds = business[business.count / 2]
                }
            }
            return dashboard
        }
    }

    struct ConversationStats: Sendable {
        let total: Int
        let byRole: [String: Int]
        let firstResponseSeconds: Double?
        let averageResponseSeconds: Double?
        let responses: Int
    }

    /// Message counts and response times of one conversation: each customer message is answered by the next
    /// technician message.
    func stats(ticketID: Int64) async throws -> ConversationStats {
        try await reader.read { db in
            var byRole: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT role, COUNT(*) AS n FROM messages WHERE ticket_id = ? AND NOT private GROUP BY role",
                arguments: [ticketID])
            {
                byRole[row["role"]] = row["n"]
            }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT role, created_at FROM messages WHERE ticket_id = ? AND role IN ('user', 'tecnico') AND NOT private
                    ORDER BY id
                    """,
                arguments: [ticketID])
            var waitingSince: Date?
            var responses: [TimeInterval] = []
            for row in rows {
                let at: Date = row["created_at"]
                if row["role"] as String == "user" {
                    if waitingSince == nil { waitingSince = at }
                } else if let since = waitingSince {
                    responses.append(at.timeIntervalSince(since))
                    waitingSince = nil
                }
            }
            return ConversationStats(
                total: byRole.values.reduce(0, +), byRole: byRole, firstResponseSeconds: responses.first,
                averageResponseSeconds: responses.isEmpty ? nil : responses.reduce(0, +) / Double(responses.count),
                responses: responses.count)
        }
    }
}
