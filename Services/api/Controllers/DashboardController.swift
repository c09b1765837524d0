import Foundation
import GRDB
import Hummingbird

/// `GET /api/dashboard/?days=14`: tickets per day, Hardware vs Software, first response time.
struct DashboardController {
    let reader: DatabasePool

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/dashboard", use: dashboard)
    }

    @Sendable func dashboard(_ request: Request, context: APIRequestContext) async throws -> Response {
        _ = try context.requireAgent
        let days = try TicketController.integer(
            request.uri.queryParameters["days"], name: "days", default: 14, range: 1...365)
        let since = Calendar(identifier: .gregorian).startOfDay(for: Date()).addingTimeInterval(
            -Double(days - 1) * 86400)
        let result = try await reader.read { db -> JSONValue in
            let perDay = try Row.fetchAll(
                db,
                sql: """
                    SELECT date(created_at) AS day, COUNT(*) AS n,
                        AVG(CASE WHEN first_response_at IS NOT NULL
                            THEN (julianday(first_response_at) - julianday(created_at)) * 86400 END) AS response
                    FROM tickets WHERE created_at >= ? GROUP BY day ORDER BY day
                    """, arguments: [since])
            var byDay: [String: (Int64, Double?)] = [:]
            for row in perDay { byDay[row["day"]] = (row["n"], row["response"]) }
            var tickets: [JSONValue] = []
            var responses: [JSONValue] = []
            let formatter = Date.ISO8601FormatStyle().year().month().day()
            for offset in 0..<days {
                let day = formatter.format(since.addingTimeInterval(Double(offset) * 86400))
                tickets.append(["date": .string(day), "count": .int(byDay[day]?.0 ?? 0)])
                responses.append(["date": .string(day), "average_seconds": .optional(byDay[day]?.1)])
            }
            let categories = try Row.fetchAll(
                db, sql: "SELECT category, COUNT(*) AS n FROM tickets WHERE created_at >= ? GROUP BY category",
                arguments: [since])
            var counts: [String: JSONValue] = ["Hardware": 0, "Software": 0, "unknown": 0]
            for row in categories { counts[row["category"]] = .int(row["n"]) }
            let times = try Double.fetchAll(
                db,
                sql: """
                    SELECT (julianday(first_response_at) - julianday(created_at)) * 86400 FROM tickets
                    WHERE created_at >= ? AND first_response_at IS NOT NULL ORDER BY 1
                    """, arguments: [since])
            let average = times.isEmpty ? nil : times.reduce(0, +) / Double(times.count)
            let median = times.isEmpty ? nil : times[times.count / 2]
            return [
                "days": .int(Int64(days)), "tickets_per_day": .array(tickets), "categories": .object(counts),
                "first_response": [
                    "average_seconds": .optional(average), "median_seconds": .optional(median),
                    "answered": .int(Int64(times.count)), "per_day": .array(responses),
                ],
                "open_tickets": .int(
                    try Int64.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM tickets WHERE status NOT IN ('resolved', 'closed')") ?? 0),
            ]
        }
        return try result.response()
    }
}
