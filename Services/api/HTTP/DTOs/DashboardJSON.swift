import Foundation
import Hummingbird

/// `GET /api/dashboard`: tickets per day, Hardware vs Software, first response times.
struct DashboardJSON: ResponseEncodable, Sendable {
    struct DayCount: Encodable, Sendable {
        let date: String
        let count: Int
    }

    struct DayResponse: Encodable, Sendable {
        let date: String
        @Nullable var averageSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case date
            case averageSeconds = "average_seconds"
        }
    }

    struct FirstResponse: Encodable, Sendable {
        @Nullable var averageSeconds: Double?
        @Nullable var medianSeconds: Double?
        /// The same in business time (null while business hours are off).
        @Nullable var businessAverageSeconds: Double?
        @Nullable var businessMedianSeconds: Double?
        let answered: Int
        let perDay: [DayResponse]

        enum CodingKeys: String, CodingKey {
            case answered
            case businessAverageSeconds = "business_average_seconds"
            case businessMedianSeconds = "business_median_seconds"
            case averageSeconds = "average_seconds"
            case medianSeconds = "median_seconds"
            case perDay = "per_day"
        }
    }

    let days: Int
    let ticketsPerDay: [DayCount]
    let categories: [String: Int]
    let firstResponse: FirstResponse
    let openTickets: Int
    /// SLA targets missed in the period: `{"first_response": n, "resolution": n}`.
    let slaBreaches: [String: Int]

    enum CodingKeys: String, CodingKey {
        case days, categories
        case ticketsPerDay = "tickets_per_day"
        case firstResponse = "first_response"
        case openTickets = "open_tickets"
        case slaBreaches = "sla_breaches"
    }

    init(_ dashboard: ReadModels.Dashboard) {
        days = dashboard.days
        ticketsPerDay = dashboard.perDay.map { DayCount(date: $0.date, count: $0.count) }
        categories = dashboard.categories
        firstResponse = FirstResponse(
            averageSeconds: dashboard.averageResponseSeconds, medianSeconds: dashboard.medianResponseSeconds,
            businessAverageSeconds: dashboard.businessAverageResponseSeconds,
            businessMedianSeconds: dashboard.businessMedianResponseSeconds, answered: dashboard.answered,
            perDay: dashboard.perDay.map { DayResponse(date: $0.date, averageSeconds: $0.averageResponseSeconds) })
        openTickets = dashboard.openTickets
        slaBreaches = dashboard.slaBreaches
    }
}

/// `GET /api/soporte/tickets/{id}/chat/stats` (seed 003): message counts and response times of one conversation.
struct ConversationStatsJSON: ResponseEncodable, Sendable {
    let ticketID: Int64
    let total: Int
    let byRole: [String: Int]
    @Nullable var firstResponseSeconds: Double?
    @Nullable var averageResponseSeconds: Double?
    let responses: Int

    enum CodingKeys: String, CodingKey {
        case ticketID = "ticket_id"
        case total = "total_mensajes"
        case byRole = "por_rol"
        case firstResponseSeconds = "primera_respuesta_segundos"
        case averageResponseSeconds = "tiempo_respuesta_promedio_segundos"
        case responses = "respuestas"
    }

    init(ticketID: Int64, _ stats: ReadModels.ConversationStats) {
        self.ticketID = ticketID
        total = stats.total
        byRole = stats.byRole
        firstResponseSeconds = stats.firstResponseSeconds
        averageResponseSeconds = stats.averageResponseSeconds
        responses = stats.responses
    }
}
