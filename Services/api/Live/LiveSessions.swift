import Foundation
import MostradorSQL

/// What a WebSocket was opened with, by the SHA-256 of the token (the token itself is never kept): an agent
/// session or a web visitor's room token.
enum LiveCredential: Sendable, Hashable {
    case session(digest: String)
    case room(digest: String)

    var digest: String {
        switch self {
        case .session(let digest), .room(let digest): digest
        }
    }

    /// The `credential` column of `ws_tickets`.
    var kind: String {
        switch self {
        case .session: "session"
        case .room: "room"
        }
    }

    init?(kind: String, digest: String) {
        switch kind {
        case "session": self = .session(digest: digest)
        case "room": self = .room(digest: digest)
        default: return nil
        }
    }
}

/// Why a WebSocket is refused or closed (code 1008): the `error` frame sent before closing, and the close reason.
struct LiveRefusal: Error, Sendable, Equatable {
    let code: String
    let message: String

    static let sessionEnded = LiveRefusal(
        code: "sesion_invalida", message: "La sesión terminó; vuelve a iniciar sesión")
    static let tooManyForToken = LiveRefusal(
        code: "demasiadas_conexiones", message: "Demasiadas conexiones abiertas con esta sesión")
    static let tooManyForAddress = LiveRefusal(
        code: "demasiadas_conexiones", message: "Demasiadas conexiones abiertas desde esta dirección")

    init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// A refusal of the access policy.
    init(_ problem: ConversationProblem) {
        (code, message) = problem.liveError
    }
}

/// Who a WebSocket speaks for, asked again whenever it matters: at the upgrade, before every write frame, when
/// that agent's sessions change (`LiveEvent.Kind.sessionsRevoked`) and on the periodic sweep.
struct LiveSessions: Sendable {
    let conversations: Conversations
    var reader: SQLDatabase { conversations.committer.writer }
    var clock: WallClock { conversations.clock }

    init(_ conversations: Conversations) {
        self.conversations = conversations
    }

    /// The credential a `?token=` stands for and its caller: an agent session first, then a room token.
    func identify(token: String) async throws -> (credential: LiveCredential, caller: Caller)? {
        guard !token.isEmpty, token.count <= 200 else { return nil }
        let digest = AgentStore.digest(token)
        for credential in [LiveCredential.session(digest: digest), .room(digest: digest)] {
            if let caller = try await caller(for: credential) { return (credential, caller) }
        }
        return nil
    }

    /// The caller as the database sees them now: nil once the session is gone, expired or its agent inactive, or
    /// the room token no longer opens a chat.
    func caller(for credential: LiveCredential) async throws -> Caller? {
        switch credential {
        case .session(let digest):
            let now = clock.now()
            return try await reader.read { db in try AgentStore.session(digest: digest, now: now, db: db) }.map {
                .agent($0.agent)
            }
        case .room(let digest):
            return try await Tickets(reader: reader).ticketID(roomTokenDigest: digest).map { .guest(ticketID: $0) }
        }
    }

    /// The caller behind `credential`, as the database sees them now, if they may still `action` the ticket;
    /// otherwise why not. Throws only when the database cannot answer.
    func authorize(_ credential: LiveCredential, ticketID: Int64, to action: TicketAction) async throws
        -> Result<Caller, LiveRefusal>
    {
        guard let caller = try await caller(for: credential) else { return .failure(.sessionEnded) }
        do {
            _ = try await conversations.ticket(id: ticketID, for: caller, to: action)
            return .success(caller)
        } catch let problem as ConversationProblem {
            return .failure(LiveRefusal(problem))
        }
    }

    /// Why the socket may no longer stay open, if it may not. A database that does not answer closes nothing: the
    /// next check decides.
    func refusal(_ credential: LiveCredential, ticketID: Int64) async -> LiveRefusal? {
        guard case .failure(let refusal) = try? await authorize(credential, ticketID: ticketID, to: .read) else {
            return nil
        }
        return refusal
    }
}
