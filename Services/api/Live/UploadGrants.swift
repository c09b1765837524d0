import Foundation
import Synchronization

/// One-use upload permissions handed out over the WebSocket (valid five minutes), and the limits on uploads: grants
/// outstanding per connection and in all, uploads in progress at once, files and bytes per ticket.
final class UploadGrants: Sendable {
    /// Seed 004's limit for WhatsApp media (16 MB); seed 003's clients hold themselves to 10 MB, which fits.
    static let maximumSize = 16 << 20
    static let allowedTypes = [
        "image/jpeg", "image/png", "application/pdf", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]
    /// How long a grant stays valid, in seconds.
    static let lifetime = 300

    /// The upload limits (`APISettings`).
    struct Limits: Sendable {
        var perConnection = 5
        var total = 10_000
        var concurrentUploads = 8
        var filesPerTicket = 50
        var bytesPerTicket = 100 << 20

        init() {}

        init(_ settings: APISettings) {
            perConnection = settings.uploadGrantsPerConnection
            total = settings.uploadGrantsTotal
            concurrentUploads = settings.concurrentUploads
            filesPerTicket = settings.filesPerTicket
            bytesPerTicket = settings.bytesPerTicket
        }
    }

    /// Why a grant was not given.
    enum Refusal: Error, Equatable {
        /// This connection already holds `perConnection` unused grants.
        case connectionFull
        /// The instance holds `total` unused grants.
        case instanceFull
    }

    private struct Grant {
        let ticketID: Int64
        let caller: Caller
        let connection: String?
        let expires: Date
        /// Also in the database (`UploadGrantStore`): its use there, through any instance, is what counts.
        let shared: Bool
    }

    /// Grants by token, plus their tokens in the order they expire (the lifetime is fixed, so that is the order
    /// they were given): expiring is popping from the front, O(1) per grant, never a scan of them all.
    private struct State {
        var grants: [String: Grant] = [:]
        var expiryOrder: [String] = []
        var head = 0
        var perConnection: [String: Int] = [:]
        var uploading = 0
    }

    let limits: Limits
    private let clock: WallClock
    private let state = Mutex(State())

    init(clock: WallClock = .system, limits: Limits = Limits()) {
        self.clock = clock
        self.limits = limits
    }

    /// A grant for `caller` on `ticketID`, counted against `connection` (the WebSocket that asked); `shared` when
    /// the caller also saves it in the database for the other instances.
    func grant(ticketID: Int64, caller: Caller, connection: String? = nil, shared: Bool = false) throws(Refusal)
        -> String
    {
        let token = AgentStore.newToken()
        let now = clock.now()
        try state.withLock { (state) throws(Refusal) in
            Self.expire(&state, now: now)
            if let connection, state.perConnection[connection, default: 0] >= limits.perConnection {
                throw .connectionFull
            }
            guard state.grants.count < limits.total else { throw .instanceFull }
            state.grants[token] = Grant(
                ticketID: ticketID, caller: caller, connection: connection,
                expires: now.addingTimeInterval(TimeInterval(Self.lifetime)), shared: shared)
            state.expiryOrder.append(token)
            if let connection { state.perConnection[connection, default: 0] += 1 }
        }
        return token
    }

    /// Who holds `token` for `ticketID`, if it is still valid; the grant stays unused.
    func holder(_ token: String, ticketID: Int64) -> Caller? {
        let now = clock.now()
        return state.withLock { state in
            guard let grant = state.grants[token], grant.ticketID == ticketID, grant.expires > now else { return nil }
            return grant.caller
        }
    }

    /// Takes a grant (once) if it is for `ticketID` and still valid.
    func take(_ token: String, ticketID: Int64) -> Caller? {
        takeGrant(token, ticketID: ticketID)?.caller
    }

    /// Takes a grant of this instance's memory (once): its holder, if still valid, and whether it is shared (then
    /// only taking it from the database too makes the use good: another instance may have used it already).
    func takeGrant(_ token: String, ticketID: Int64) -> (caller: Caller?, shared: Bool)? {
        let now = clock.now()
        return state.withLock { state in
            guard let grant = state.grants[token], grant.ticketID == ticketID else { return nil }
            Self.remove(token, grant, from: &state)
            return (grant.expires > now ? grant.caller : nil, grant.shared)
        }
    }

    /// Unused grants held by `connection` (all connections when nil).
    func outstanding(connection: String? = nil) -> Int {
        let now = clock.now()
        return state.withLock { state in
            Self.expire(&state, now: now)
            return connection.map { state.perConnection[$0, default: 0] } ?? state.grants.count
        }
    }

    // MARK: Uploads in progress

    /// Counts an upload in progress, or says how many seconds to wait when `concurrentUploads` are running.
    func beginUpload() -> Int? {
        state.withLock { state in
            guard state.uploading < limits.concurrentUploads else { return 2 }
            state.uploading += 1
            return nil
        }
    }

    func endUpload() {
        state.withLock { $0.uploading = max(0, $0.uploading - 1) }
    }

    // MARK: Bookkeeping

    private static func remove(_ token: String, _ grant: Grant, from state: inout State) {
        state.grants.removeValue(forKey: token)
        if let connection = grant.connection {
            let left = state.perConnection[connection, default: 1] - 1
            state.perConnection[connection] = left > 0 ? left : nil
        }
    }

    /// Drops expired grants from the front of the expiry order, and compacts the order once most of it is spent
    /// (tokens already taken), so its memory stays proportional to the grants outstanding.
    private static func expire(_ state: inout State, now: Date) {
        while state.head < state.expiryOrder.count {
            let token = state.expiryOrder[state.head]
            if let grant = state.grants[token] {
                guard grant.expires <= now else { break }
                remove(token, grant, from: &state)
            }
            state.head += 1
        }
        let pending = state.expiryOrder.count - state.head
        if state.head > 64, state.head > pending {
            state.expiryOrder.removeFirst(state.head)
            state.head = 0
        } else if pending > 2 * state.grants.count + 64 {
            let grants = state.grants
            state.expiryOrder = state.expiryOrder[state.head...].filter { grants[$0] != nil }
            state.head = 0
        }
    }
}
