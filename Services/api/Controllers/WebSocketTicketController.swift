import Foundation
import Hummingbird

/// `POST /api/auth/ws-ticket/`: a single-use key, valid `WebSocketTickets.lifetime` seconds, to open a WebSocket
/// with `?ticket=` rather than a long-lived token in the URL (which proxies log). It stands for the credential that
/// asked (`Authorization: Token …` or `Room …`) and dies with it; `ticket_id` (number or room UUID) limits it to a
/// conversation the caller may read.
struct WebSocketTicketController {
    let tickets: WebSocketTickets
    let conversations: Conversations

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("api/auth/ws-ticket", use: issue)
    }

    struct Body: Decodable {
        /// A ticket number or a room UUID.
        let ticketKey: String?

        enum CodingKeys: String, CodingKey {
            case ticketKey = "ticket_id"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let number = try? container.decodeIfPresent(Int64.self, forKey: .ticketKey) {
                ticketKey = String(number)
            } else {
                ticketKey = try container.decodeIfPresent(String.self, forKey: .ticketKey)
            }
        }
    }

    @Sendable func issue(_ request: Request, context: APIRequestContext) async throws
        -> EditedResponse<WebSocketTicketJSON>
    {
        guard let caller = context.caller, let token = Self.bearer(request) else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(Body.self, limit: 4 << 10)
        let ticketID = try await body.ticketKey.asyncMap { key in
            try await conversations.ticket(key, for: caller, to: .read).id
        }
        let credential: LiveCredential =
            switch caller {
            case .agent: .session(digest: AgentStore.digest(token))
            case .guest: .room(digest: AgentStore.digest(token))
            }
        let ticket = try await tickets.issue(.init(credential: credential, ticketID: ticketID))
        return EditedResponse(
            status: .created,
            response: WebSocketTicketJSON(
                ticket: ticket, expiresIn: Int(WebSocketTickets.lifetime), ticketID: ticketID))
    }

    /// The token of `Authorization` whatever its scheme (`CallerMiddleware` already told whose it is).
    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
