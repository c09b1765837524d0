import Crypto
import Foundation
import Hummingbird
import NIOCore

/// Per-request state: who is calling.
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `CallerMiddleware`.
    var caller: Caller?
    var agent: Agent? { caller?.agent }
    /// The TCP peer's address.
    let remoteAddress: String?
    /// The client: the peer, or the client a trusted proxy names (set by `ClientAddressMiddleware`). Rate limits
    /// count under its `rateLimitKey`.
    var clientAddress: ClientAddress

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        clientAddress = ClientAddress(ip: remoteAddress.flatMap { IPAddress($0) })
    }

    /// Response bodies in the api's JSON (`WireJSON`).
    var responseEncoder: JSONEncoder { WireJSON.encoder }

    /// The authenticated agent; routes behind `AgentOnlyMiddleware` always have one.
    var requireAgent: Agent {
        get throws {
            switch caller {
            case .agent(let agent): return agent
            case .guest: throw APIError.forbidden("No tienes permisos para esta operación")
            case nil: throw APIError.unauthorized
            }
        }
    }

    /// The caller, an admin; else 401 (nobody), or 403 saying `what` only an admin may do.
    @discardableResult
    func requireAdmin(to what: String) throws -> Agent {
        let agent = try requireAgent
        guard agent.role == .admin else { throw APIError.forbidden("Solo un administrador puede \(what)") }
        return agent
    }
}

extension Request {
    /// The token of `Authorization: Token …` (Django REST style, as in seed 002) or `Authorization: Bearer …`.
    var authorizationToken: String? {
        guard let header = headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, ["token", "bearer"].contains(parts[0].lowercased()) else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The JSON body as `T` (an empty body decodes as `{}`), refusing more than `limit` bytes with 413.
    func decodeJSON<T: Decodable>(_: T.Type, limit: Int = 64 << 10) async throws -> T {
        let body = try await collectBody(upTo: limit)
        return try JSONDecoder().decode(T.self, from: body.readableBytes == 0 ? ByteBuffer(string: "{}") : body)
    }

    /// The body, refusing more than `limit` bytes with 413.
    func collectBody(upTo limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.tooLarge(limit) }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limit)
        }
    }
}

/// Compares secrets in time that does not depend on where they differ nor on their lengths: both sides are hashed
/// first (SHA-256), and the two fixed-size digests are compared without an early exit.
func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
    let a = SHA256.hash(data: Data(lhs.utf8))
    let b = SHA256.hash(data: Data(rhs.utf8))
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
