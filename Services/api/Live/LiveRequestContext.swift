import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of WebSocket upgrades: who connects, with what, from where, to which ticket.
struct LiveRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<LiveRequestContext>
    var caller: Caller?
    /// The agent session or room token behind `caller`, asked again before every write frame.
    var credential: LiveCredential?
    var ticketID: Int64 = 0
    var roomUUID = ""
    /// Who is connecting: the TCP peer, or behind a trusted proxy the client it names (set by `LiveAuthMiddleware`,
    /// as `ClientAddressMiddleware` does for HTTP), for the per-address socket cap and message rate.
    var clientAddress: ClientAddress

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        clientAddress = ClientAddress(ip: source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) })
    }
}

/// Authenticates the upgrade through the access policy, before it happens: `?ticket=` (a single-use WebSocket
/// ticket from `POST /api/auth/ws-ticket/`) or `?token=` (an agent session or a room token, as seed clients send
/// it); 401 without a valid one, 403 for another agent's chat, 404 for a ticket a visitor may not see, 429 when
/// the token or the address already holds as many sockets as `limits` allow.
struct LiveAuthMiddleware: RouterMiddleware {
    typealias Context = LiveRequestContext
    let conversations: Conversations
    let hub: LiveHub
    var limits = LiveHub.Limits.unlimited
    var proxies = TrustedProxies()

    var sessions: LiveSessions { LiveSessions(conversations) }
    var tickets: WebSocketTickets { WebSocketTickets(conversations) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let (credential, caller, boundTicket) = try await identify(request)
        let ticket: TicketFacts
        do {
            ticket = try await conversations.ticket(try Parameters.ticketKey(context), for: caller, to: .read)
        } catch let problem as ConversationProblem {
            throw HTTPError(problem.apiError.status, message: problem.apiError.detail)
        }
        if let boundTicket, boundTicket != ticket.id {
            throw HTTPError(.unauthorized, message: "El ticket de conexión es de otra conversación")
        }
        var context = context
        if !proxies.networks.isEmpty {
            context.clientAddress = proxies.client(peer: context.clientAddress.ip, headers: request.headers)
        }
        let address = context.clientAddress.rateLimitKey
        if let refusal = await hub.admits(credential: credential, address: address, limits: limits) {
            throw HTTPError(.tooManyRequests, message: refusal.message)
        }
        context.caller = caller
        context.credential = credential
        context.ticketID = ticket.id
        context.roomUUID = ticket.uuid
        return try await next(request, context)
    }

    private func identify(_ request: Request) async throws -> (LiveCredential, Caller, boundTicket: Int64?) {
        let query = request.uri.queryParameters
        if let ticket = query["ticket"].map(String.init) {
            guard let grant = try await tickets.redeem(ticket),
                let caller = try await sessions.caller(for: grant.credential)
            else { throw HTTPError(.unauthorized, message: "Ticket de conexión no válido o vencido") }
            return (grant.credential, caller, grant.ticketID)
        }
        guard let token = query["token"].map(String.init),
            let (credential, caller) = try await sessions.identify(token: token)
        else { throw HTTPError(.unauthorized, message: "Token no válido") }
        return (credential, caller, nil)
    }
}
