import Crypto
import Foundation
import Hummingbird

/// Who is making a request: an agent with a session, a web visitor holding their room token, or nobody.
enum Caller: Sendable, Equatable {
    case agent(Agent)
    case guest(ticketID: Int64)

    var agent: Agent? {
        if case .agent(let agent) = self { return agent }
        return nil
    }
}

/// Recognises the caller from `Authorization`: `Token …`/`Bearer …` for agents (seed 002), `Room …` (or `Bearer …`)
/// for a guest's room token. It never refuses: each route decides what its callers may do.
struct CallerMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let agents: AgentStore
    let tickets: Tickets

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        context.caller = try await identify(request)
        return try await next(request, context)
    }

    func identify(_ request: Request) async throws -> Caller? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return nil }
        return try await identify(token: parts[1].trimmingCharacters(in: .whitespaces), scheme: parts[0].lowercased())
    }

    /// An agent session token or a room token (`scheme` "bearer" tries both).
    func identify(token: String, scheme: String = "bearer") async throws -> Caller? {
        guard !token.isEmpty, token.count <= 200 else { return nil }
        if scheme == "token" || scheme == "bearer", let agent = try await agents.agent(forToken: token) {
            return .agent(agent)
        }
        if scheme == "room" || scheme == "bearer" {
            if let ticket = try await tickets.ticketID(roomTokenDigest: AgentStore.digest(token)) {
                return .guest(ticketID: ticket)
            }
        }
        return nil
    }
}

/// Lets through only requests from an agent: 401 without credentials, 403 for a guest.
struct AgentOnlyMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        switch context.caller {
        case .agent: return try await next(request, context)
        case .guest: throw APIError.forbidden("No tienes permisos para esta operación")
        case nil: throw APIError.unauthorized
        }
    }
}
