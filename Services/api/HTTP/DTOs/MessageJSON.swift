import Foundation
import Hummingbird
import MostradorContracts

/// A chat message (seed 002). `agent_sender` only on a technician's message, `estado_entrega` only on one that
/// goes out through WhatsApp, `adjunto_url` only with a file.
struct MessageJSON: ResponseEncodable, Sendable {
    /// The technician who wrote it.
    struct AgentSender: Encodable, Sendable {
        struct User: Encodable, Sendable {
            @Nullable var firstName: String?
            @Nullable var lastName: String?

            enum CodingKeys: String, CodingKey {
                case firstName = "first_name"
                case lastName = "last_name"
            }
        }

        let user: User
    }

    let id: Int64
    let ticketID: Int64
    let content: String
    /// The role, with `tecnico` shown as `agent`.
    let senderType: String
    /// As `HistoryItemJSON.role` (`note` for a private note).
    let role: String
    let messageType: MessageType
    let createdAt: Date
    let isRead: Bool
    @Nullable var readAt: Date?
    let agentSender: AgentSender?
    let deliveryStatus: DeliveryStatus?
    let attachmentURL: String?
    /// Only on a reply.
    let quoted: QuotedJSON?

    enum CodingKeys: String, CodingKey {
        case id, content, role
        case ticketID = "chat_room_ticket_id"
        case senderType = "sender_type"
        case messageType = "message_type"
        case createdAt = "created_at"
        case isRead = "is_read"
        case readAt = "read_at"
        case agentSender = "agent_sender"
        case deliveryStatus = "estado_entrega"
        case attachmentURL = "adjunto_url"
        case quoted = "responde_a"
    }

    init(_ message: MessageRow) {
        id = message.id
        ticketID = message.ticketID
        content = message.content
        senderType = message.role == .tecnico ? "agent" : message.role.rawValue
        role = message.shownRole
        messageType = message.type
        createdAt = message.createdAt
        isRead = message.readAt != nil
        readAt = message.readAt
        agentSender =
            message.role == .tecnico
            ? AgentSender(user: .init(firstName: message.agentFirstName, lastName: message.agentLastName)) : nil
        deliveryStatus = message.deliveryStatus
        attachmentURL = message.attachmentURL
        quoted = message.quoted.map(QuotedJSON.init)
    }
}
