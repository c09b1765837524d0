import Foundation

/// What travels on the `mostrador.live` fan-out between api instances: a poke saying what changed in a ticket.
/// Each instance reads the details from the shared database, so pokes stay tiny and carry no message bodies.
struct LiveEvent: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        /// New messages in the ticket (each instance pushes those after the last one it pushed).
        case messages
        /// A message's delivery status changed.
        case delivery
        /// Someone started or stopped typing.
        case typingStart = "typing_start"
        case typingStop = "typing_stop"
        /// An agent joined, left, or the chat moved (the details are in the system notes, pushed as messages too).
        case agentJoined = "agente_joined"
        case agentLeft = "agente_left"
        case chatTransferred = "chat_transferred"
        case status
        /// A file arrived through the upload endpoint (`messageID` is its message).
        case fileUploaded = "file_uploaded"
        /// An agent's sessions changed (logout, deactivation, demotion, new password; `userID` is the agent's live
        /// id, `ticketID` 0): every instance checks that agent's sockets again and closes those no longer allowed.
        case sessionsRevoked = "sessions_revoked"
    }

    var ticketID: Int64
    var kind: Kind
    var messageID: Int64?
    /// Who typed or joined: `{id, nombre, tipo}`.
    var userID: String?
    var userName: String?
    var userKind: String?
    /// The WebSocket connection that caused it (not echoed back to itself).
    var origin: String?
    /// A transfer: the agent who had the chat, and the automatic message (seed 003 `mensaje_automatico`).
    var previousUserID: String?
    var previousUserName: String?
    var text: String?
}
