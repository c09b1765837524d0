import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of WebSocket upgrades: who connects, to which ticket.
struct LiveRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<LiveRequestContext>
    var caller: Caller?
    var ticketID: Int64 = 0
    var roomUUID = ""

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
    }
}

/// Resolves `?token=` (an agent session or a room token) and the ticket in the path (number or UUID) before the
/// upgrade, through the access policy: 401 without a valid token, 403 for another agent's chat, 404 for a ticket
/// a visitor may not see.
struct LiveAuthMiddleware: RouterMiddleware {
    typealias Context = LiveRequestContext
    let identify: CallerMiddleware
    let conversations: Conversations

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let token = request.uri.queryParameters["token"].map(String.init),
            let caller = try await identify.identify(token: token)
        else { throw HTTPError(.unauthorized, message: "Token no válido") }
        let ticket: TicketFacts
        do {
            ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: caller, to: .read)
        } catch let problem as ConversationProblem {
            throw HTTPError(problem.apiError.status, message: problem.apiError.detail)
        }
        var context = context
        context.caller = caller
        context.ticketID = ticket.id
        context.roomUUID = ticket.uuid
        return try await next(request, context)
    }
}
