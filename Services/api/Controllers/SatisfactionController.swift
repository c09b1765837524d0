import Foundation
import Hummingbird

/// The satisfaction survey (`Satisfaction`): the web visitor rates their resolved chat (`POST /api/chat/rate/`,
/// room token, seed 002 style), admins read the results (`GET /api/csat`).
struct SatisfactionController {
    let conversations: Conversations

    func addGuestRoutes(to router: Router<APIRequestContext>) {
        router.post("api/chat/rate", use: rate)
    }

    func addAdminRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/csat", use: report)
    }

    struct RateBody: Decodable {
        let chatRoomID: String?
        let rating: Int?
        let comment: String?

        enum CodingKeys: String, CodingKey {
            case rating, comment
            case chatRoomID = "chat_room_id"
        }
    }

    @Sendable func rate(_ request: Request, context: APIRequestContext) async throws -> RatedJSON {
        guard let caller = context.caller else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(RateBody.self, limit: 8 << 10)
        let room = try body.chatRoomID.required(parameter: "chat_room_id")
        guard let rating = body.rating, (1...5).contains(rating) else {
            throw APIError.badRequest("'rating' debe ser un número del 1 al 5")
        }
        let comment = body.comment?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (comment?.count ?? 0) <= 1000 else { throw APIError.badRequest("'comment' excede 1000 caracteres") }
        let ticket = try await conversations.ticket(room, for: caller, to: .write)
        guard case .guest = caller else { throw APIError.forbidden("Solo el cliente del chat lo califica") }
        let stored = try await conversations.committer.write { db in
            try Satisfaction.answer(
                ticketID: ticket.id, rating: rating, comment: comment.flatMap { $0.isEmpty ? nil : $0 }, now: Date(),
                db: db)
        }
        guard stored else {
            throw APIError(status: .conflict, detail: "Este chat no tiene una encuesta pendiente")
        }
        conversations.live.changed(ticket.id)
        return RatedJSON(message: "¡Gracias por tu calificación!", rating: rating)
    }

    @Sendable func report(_ request: Request, context: APIRequestContext) async throws -> SatisfactionReportJSON {
        _ = try context.requireAdmin(to: "ver las encuestas de satisfacción")
        let query = request.uri.queryParameters
        let until = try Parameters.instant(query["until"], name: "until", endOfDay: true) ?? Date()
        let since =
            try Parameters.instant(query["since"], name: "since", endOfDay: false)
            ?? until.addingTimeInterval(-30 * 86_400)
        guard since < until else { throw APIError.badRequest("'since' debe ser anterior a 'until'") }
        let report = try await conversations.committer.writer.read { db in
            try Satisfaction.report(since: since, until: until, db: db)
        }
        return SatisfactionReportJSON(report)
    }
}

struct RatedJSON: ResponseEncodable, Sendable {
    let message: String
    let rating: Int
}

struct SatisfactionReportJSON: ResponseEncodable, Sendable {
    struct Group: Encodable, Sendable {
        let key: String
        @Nullable var agentID: Int64?
        let responses: Int
        @Nullable var average: Double?

        enum CodingKeys: String, CodingKey {
            case responses, average
            case key = "clave"
            case agentID = "agent_id"
        }
    }

    struct Comment: Encodable, Sendable {
        let ticketID: Int64
        let rating: Int
        let comment: String
        @Nullable var agent: String?
        let at: Date

        enum CodingKeys: String, CodingKey {
            case rating, comment, agent, at
            case ticketID = "ticket_id"
        }
    }

    let asked: Int
    let responses: Int
    @Nullable var average: Double?
    let distribution: [Int]
    let perAgent: [Group]
    let perDay: [Group]
    let comments: [Comment]

    enum CodingKeys: String, CodingKey {
        case asked, responses, average, distribution, comments
        case perAgent = "per_agent"
        case perDay = "per_day"
    }

    init(_ report: Satisfaction.Report) {
        asked = report.asked
        responses = report.responses
        average = report.average
        distribution = report.distribution
        perAgent = report.perAgent.map {
            Group(key: $0.key, agentID: $0.agentID, responses: $0.responses, average: $0.average)
        }
        perDay = report.perDay.map { Group(key: $0.key, agentID: nil, responses: $0.responses, average: $0.average) }
        comments = report.comments.map {
            Comment(ticketID: $0.ticketID, rating: $0.rating, comment: $0.comment, agent: $0.agent, at: $0.at)
        }
    }
}
