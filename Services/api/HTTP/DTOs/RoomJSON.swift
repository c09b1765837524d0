import Foundation
import Hummingbird
import MostradorContracts

/// A chat room (seed 002). Contact details of web chats are what the visitor typed (`verificado: false`).
struct RoomJSON: ResponseEncodable, Sendable {
    /// Seed 002's `chat_user`: the customer as the ticket shows them.
    struct ChatUser: Encodable, Sendable {
        @Nullable var fullName: String?
        @Nullable var email: String?
        @Nullable var phoneNumber: String?
        let verified: Bool

        enum CodingKeys: String, CodingKey {
            case email
            case fullName = "full_name"
            case phoneNumber = "phone_number"
            case verified = "verificado"
        }
    }

    /// The assigned agent.
    struct RoomAgent: Encodable, Sendable {
        struct User: Encodable, Sendable {
            let firstName: String
            let lastName: String
            let username: String

            enum CodingKeys: String, CodingKey {
                case username
                case firstName = "first_name"
                case lastName = "last_name"
            }
        }

        /// The agent's UUID.
        let id: String
        let numericID: Int64
        let user: User

        enum CodingKeys: String, CodingKey {
            case id, user
            case numericID = "numeric_id"
        }
    }

    /// The ticket's UUID.
    let id: String
    let ticketID: Int64
    let subject: String
    let roomStatus: RoomStatus
    let status: TicketStatus
    let channel: Channel
    let category: String
    let chatUser: ChatUser
    @Nullable var agent: RoomAgent?
    let createdAt: Date
    let updatedAt: Date
    @Nullable var resolvedAt: Date?
    @Nullable var closedAt: Date?
    @Nullable var initialMessage: String?
    let unreadMessages: Int
    @Nullable var lastMessage: String?
    @Nullable var lastMessageAt: Date?
    /// The ticket's labels (agents only read rooms).
    let labels: [LabelJSON]

    enum CodingKeys: String, CodingKey {
        case id, subject, channel, agent, labels
        case ticketID = "ticket_id"
        case roomStatus = "status"
        case status = "estado"
        case category = "categoria"
        case chatUser = "chat_user"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case resolvedAt = "resolved_at"
        case closedAt = "closed_at"
        case initialMessage = "initial_message"
        case unreadMessages = "unread_messages_count"
        case lastMessage = "last_message"
        case lastMessageAt = "last_message_at"
    }

    init(_ ticket: TicketSummary, agent: Agent?) {
        id = ticket.uuid
        ticketID = ticket.id
        subject = ticket.subject ?? "Chat de \(ticket.customerName ?? ticket.phone ?? "cliente")"
        roomStatus = ticket.roomStatus
        status = ticket.status
        channel = ticket.channel
        category = ticket.category
        chatUser = ChatUser(
            fullName: ticket.customerName, email: ticket.email, phoneNumber: ticket.phone,
            verified: ticket.phoneVerified)
        self.agent = agent.map { agent in
            RoomAgent(
                id: agent.uuid, numericID: agent.id,
                user: .init(firstName: agent.firstName, lastName: agent.lastName, username: agent.username))
        }
        createdAt = ticket.createdAt
        updatedAt = ticket.updatedAt
        resolvedAt = ticket.resolvedAt
        closedAt = ticket.closedAt
        initialMessage = ticket.initialMessage ?? ticket.description
        unreadMessages = ticket.unread
        lastMessage = ticket.lastMessage
        lastMessageAt = ticket.lastMessageAt
        labels = ticket.labels.map { LabelJSON($0) }
    }
}

/// `GET /api/chatrooms/filtered_chats/` (seed 002): a page of rooms.
struct RoomListJSON: ResponseEncodable, Sendable {
    struct Pagination: Encodable, Sendable {
        let currentPage: Int
        let totalPages: Int
        let totalChats: Int
        let hasNext: Bool
        let hasPrevious: Bool

        enum CodingKeys: String, CodingKey {
            case currentPage = "current_page"
            case totalPages = "total_pages"
            case totalChats = "total_chats"
            case hasNext = "has_next"
            case hasPrevious = "has_previous"
        }
    }

    /// The filters the page was read with.
    struct Filters: Encodable, Sendable {
        @Nullable var status: String?
        let page: Int
        let pageSize: Int

        enum CodingKeys: String, CodingKey {
            case status, page
            case pageSize = "page_size"
        }
    }

    let chats: [RoomJSON]
    let pagination: Pagination
    let filters: Filters

    init(chats: [RoomJSON], page: Parameters.Page, total: Int, status: String?) {
        self.chats = chats
        let pages = page.pages(total: total)
        pagination = Pagination(
            currentPage: page.number, totalPages: pages, totalChats: total, hasNext: page.number < pages,
            hasPrevious: page.number > 1)
        filters = Filters(status: status, page: page.number, pageSize: page.size)
    }
}

extension RoomStatus: Encodable {}
