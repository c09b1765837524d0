import Foundation
import Synchronization

/// One-use upload permissions handed out over the WebSocket (valid five minutes).
final class UploadGrants: Sendable {
    static let maximumSize = 10 << 20
    static let allowedTypes = [
        "image/jpeg", "image/png", "application/pdf", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]
    /// How long a grant stays valid, in seconds.
    static let lifetime = 300
    private let clock: WallClock
    private let grants = Mutex([String: (ticketID: Int64, caller: Caller, expires: Date)]())

    init(clock: WallClock = .system) { self.clock = clock }

    func grant(ticketID: Int64, caller: Caller) -> String {
        let token = AgentStore.newToken()
        grants.withLock { grants in
            let now = clock.now()
            grants = grants.filter { $0.value.expires > now }
            grants[token] = (ticketID, caller, now.addingTimeInterval(TimeInterval(Self.lifetime)))
        }
        return token
    }

    /// Takes a grant (once) if it is for `ticketID` and still valid.
    func take(_ token: String, ticketID: Int64) -> Caller? {
        grants.withLock { grants in
            guard let grant = grants.removeValue(forKey: token), grant.ticketID == ticketID, grant.expires > clock.now()
            else {
                return nil
            }
            return grant.caller
        }
    }
}
