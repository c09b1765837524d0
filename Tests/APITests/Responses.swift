import Foundation

/// The api's JSON answers as the tests read them: only the fields some test checks, decoded with
/// `APITestSystem.Reply.decode(_:)`. The names on the wire are the seeds' (`snake_case`, some in Spanish).
enum Answer {
    /// Every error: `detail` (seeds 000/001/004) and `error` (seed 002) carry the same text; a refused guest
    /// profile adds one message per field.
    struct Failure: Decodable {
        let detail: String?
        let error: String?
        let fields: [String: String]?
        let guardado: Bool?
        let plantillas: [String]?
    }

    /// `{"success": true, "message": …}` and the like.
    struct Done: Decodable {
        let success: Bool?
        let message: String?
    }

    // MARK: Seed 002: guest chat

    struct StartedChat: Decodable {
        let success: Bool
        let sessionID: String
        let nextStep: String
        let message: String
        let expiresIn: Int
        enum CodingKeys: String, CodingKey {
            case success, message
            case sessionID = "session_id"
            case nextStep = "next_step"
            case expiresIn = "expires_in"
        }
    }

    struct ValidatedSession: Decodable {
        let valid: Bool
        let hasMessage: Bool
        let createdAt: String?
        enum CodingKeys: String, CodingKey {
            case valid
            case hasMessage = "has_message"
            case createdAt = "created_at"
        }
    }

    struct CompletedChat: Decodable {
        let success: Bool
        let chatRoomID: String
        let userName: String
        let message: String
        let roomToken: String
        enum CodingKeys: String, CodingKey {
            case success, message
            case chatRoomID = "chat_room_id"
            case userName = "user_name"
            case roomToken = "room_token"
        }
    }

    struct ChatStatus: Decodable {
        let chatRoomID: String
        let status: String
        let agentAssigned: Bool
        let unreadMessages: Int
        enum CodingKeys: String, CodingKey {
            case status
            case chatRoomID = "chat_room_id"
            case agentAssigned = "agent_assigned"
            case unreadMessages = "unread_messages"
        }
    }

    // MARK: Seed 002: agents

    struct Login: Decodable {
        struct Agent: Decodable {
            let specialty: String
            let isAvailable: Bool
            enum CodingKeys: String, CodingKey {
                case specialty
                case isAvailable = "is_available"
            }
        }
        let token: String
        let user: WithKeys<User>
        let agent: Agent
    }

    struct User: Decodable {
        let username: String?
        let firstName: String?
        enum CodingKeys: String, CodingKey {
            case username
            case firstName = "first_name"
        }
    }

    struct Agent: Decodable {
        let id: String
        let user: User
        let role: String
    }

    // MARK: Seed 002: chat rooms and messages

    struct Room: Decodable {
        struct Contact: Decodable {
            let fullName: String?
            let email: String?
            let phoneNumber: String?
            enum CodingKeys: String, CodingKey {
                case email
                case fullName = "full_name"
                case phoneNumber = "phone_number"
            }
        }
        struct AssignedAgent: Decodable {
            let user: User
        }
        let id: String
        let subject: String
        let status: String
        let chatUser: Contact
        let agent: AssignedAgent?
        let initialMessage: String?
        let unreadMessagesCount: Int
        let lastMessage: String?
        let resolvedAt: String?
        let closedAt: String?
        enum CodingKeys: String, CodingKey {
            case id, subject, status, agent
            case chatUser = "chat_user"
            case initialMessage = "initial_message"
            case unreadMessagesCount = "unread_messages_count"
            case lastMessage = "last_message"
            case resolvedAt = "resolved_at"
            case closedAt = "closed_at"
        }
    }

    struct RoomList: Decodable {
        struct Pagination: Decodable {
            let currentPage: Int
            let totalChats: Int
            let hasNext: Bool
            let hasPrevious: Bool
            enum CodingKeys: String, CodingKey {
                case currentPage = "current_page"
                case totalChats = "total_chats"
                case hasNext = "has_next"
                case hasPrevious = "has_previous"
            }
        }
        struct Filters: Decodable {
            let status: String?
        }
        let chats: [Room]
        let pagination: Pagination
        let filters: Filters
    }

    struct Message: Decodable {
        struct Sender: Decodable {
            let user: User
        }
        let id: Int64
        let content: String
        let senderType: String
        let isRead: Bool
        let agentSender: Sender?
        enum CodingKeys: String, CodingKey {
            case id, content
            case senderType = "sender_type"
            case isRead = "is_read"
            case agentSender = "agent_sender"
        }
    }

    struct UnreadCount: Decodable {
        let unreadCount: Int
        enum CodingKeys: String, CodingKey { case unreadCount = "unread_count" }
    }

    // MARK: Seeds 000/001/004: WhatsApp tickets

    struct Received: Decodable {
        let status: String
        let ticketID: Int64
        let duplicado: Bool?
        enum CodingKeys: String, CodingKey {
            case status, duplicado
            case ticketID = "ticket_id"
        }
    }

    struct Ticket: Decodable {
        let id: Int64
    }

    struct Conversation: Decodable {
        struct Item: Decodable {
            let role: String
            let content: String
            let tipo: String?
            let adjuntoURL: String?
            enum CodingKeys: String, CodingKey {
                case role, content, tipo
                case adjuntoURL = "adjunto_url"
            }
        }
        let historial: [Item]
    }

    struct Evidence: Decodable {
        struct Item: Decodable {
            let tipo: String
            let sha256: String
            let url: String
        }
        let evidencias: [Item]
    }
}

extension Answer {
    // MARK: Seed 003: chat history, sync and the WebSocket frames' `data`

    /// A message as seed 003 shows it (history pages and WebSocket frames).
    struct LiveMessage: Decodable {
        let id: Int64
        let contenido: String
        let autor: Frame.Person
        let clientID: String?
        enum CodingKeys: String, CodingKey {
            case id, contenido, autor
            case clientID = "client_id"
        }
    }

    struct HistoryPage: Decodable {
        let mensajes: [LiveMessage]
        let total: Int?
        let totalPages: Int?
        enum CodingKeys: String, CodingKey {
            case mensajes, total
            case totalPages = "total_pages"
        }
    }

    struct Synced: Decodable {
        struct Item: Decodable {
            let duplicado: Bool
        }
        let sincronizados: [Item]
    }

    struct Stats: Decodable {
        let totalMensajes: Int
        enum CodingKeys: String, CodingKey { case totalMensajes = "total_mensajes" }
    }

    struct Marked: Decodable {
        let marcados: Int
    }

    enum Frame {
        /// `usuario`, `autor` and the participants.
        struct Person: Decodable {
            let id: String?
            let nombre: String?
            let tipo: String?
        }

        struct Established: Decodable {
            let usuario: Person
            let participantes: [Person]
            let historialReciente: [LiveMessage]
            enum CodingKeys: String, CodingKey {
                case usuario, participantes
                case historialReciente = "historial_reciente"
            }
        }

        struct Confirmed: Decodable {
            let clientID: String?
            let mensajeID: Int64
            let duplicado: Bool
            enum CodingKeys: String, CodingKey {
                case duplicado
                case clientID = "client_id"
                case mensajeID = "mensaje_id"
            }
        }

        struct Failure: Decodable {
            let codigo: String
        }

        struct UploadGrant: Decodable {
            let uploadURL: String
            enum CodingKeys: String, CodingKey { case uploadURL = "upload_url" }
        }

        /// `agente_joined`, `agente_left`, `chat_transferred`, `usuario_escribiendo`, …
        struct About: Decodable {
            let usuario: Person?
        }
    }
}

/// An object's value together with the names of all its fields, for "exactly these fields" checks.
struct WithKeys<Value: Decodable>: Decodable {
    let value: Value
    let keys: Set<String>

    struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        value = try Value(from: decoder)
        keys = Set(try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue))
    }
}
