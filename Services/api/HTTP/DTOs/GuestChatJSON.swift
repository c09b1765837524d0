import Foundation
import Hummingbird

/// `POST /api/chat/start_chat/` (seed 002): step 1 of a web visitor's chat.
struct StartChatJSON: ResponseEncodable, Sendable {
    let success = true
    let sessionID: String
    let nextStep = "complete_profile"
    let message = "Por favor completa tus datos de contacto"
    let expiresIn: Int

    enum CodingKeys: String, CodingKey {
        case success, message
        case sessionID = "session_id"
        case nextStep = "next_step"
        case expiresIn = "expires_in"
    }
}

/// `POST /api/chat/complete_chat/` (seed 002): the room and the token the visitor uses from now on.
struct CompleteChatJSON: ResponseEncodable, Sendable {
    let success = true
    let roomID: String
    let userName: String
    let message = "Chat iniciado correctamente. Un agente te contactará pronto."
    let roomToken: String

    enum CodingKeys: String, CodingKey {
        case success, message
        case roomID = "chat_room_id"
        case userName = "user_name"
        case roomToken = "room_token"
    }
}

/// `POST /api/chat/validate_session/` (seed 002). An unknown session has no `completed`.
struct SessionStateJSON: ResponseEncodable, Sendable {
    let valid: Bool
    let hasMessage: Bool
    @Nullable var createdAt: Date?
    let completed: Bool?

    enum CodingKeys: String, CodingKey {
        case valid, completed
        case hasMessage = "has_message"
        case createdAt = "created_at"
    }

    static let unknown = SessionStateJSON(valid: false, hasMessage: false, createdAt: nil, completed: nil)
}

/// `GET /api/chat/get_chat_status/` (seed 002).
struct ChatStatusJSON: ResponseEncodable, Sendable {
    let roomID: String
    let status: RoomStatus
    let agentAssigned: Bool
    @Nullable var agentName: String?
    let createdAt: Date
    let unreadMessages: Int

    enum CodingKeys: String, CodingKey {
        case status
        case roomID = "chat_room_id"
        case agentAssigned = "agent_assigned"
        case agentName = "agent_name"
        case createdAt = "created_at"
        case unreadMessages = "unread_messages"
    }
}

/// `GET /api/chat/config`.
struct GuestChatConfigJSON: ResponseEncodable, Sendable {
    struct Recaptcha: Encodable, Sendable {
        let siteKey: String
        let version: String
        let scriptURL: String

        enum CodingKeys: String, CodingKey {
            case version
            case siteKey = "site_key"
            case scriptURL = "script_url"
        }
    }

    @Nullable var recaptcha: Recaptcha? = nil
}
