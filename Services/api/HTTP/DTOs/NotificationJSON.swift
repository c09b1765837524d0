import Foundation
import Hummingbird

/// A notification (seed 002), an agent's or a web visitor's.
struct NotificationJSON: Encodable, Sendable {
    /// The row id, as a string.
    let id: String
    let uuid: String
    let type: String
    let title: String
    let message: String
    @Nullable var roomID: String?
    @Nullable var ticketID: Int64?
    let isRead: Bool
    @Nullable var readAt: Date?
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, uuid, type, title, message
        case roomID = "chat_room_id"
        case ticketID = "ticket_id"
        case isRead = "is_read"
        case readAt = "read_at"
        case createdAt = "created_at"
    }

    init(_ item: NotificationStore.Item) {
        id = String(item.id)
        uuid = item.uuid
        type = item.kind
        title = item.title
        message = item.message
        roomID = item.roomUUID
        ticketID = item.ticketID
        isRead = item.isRead
        readAt = item.readAt
        createdAt = item.createdAt
    }
}

/// A list of notifications with the counts.
struct NotificationListJSON: ResponseEncodable, Sendable {
    let notifications: [NotificationJSON]
    let unreadCount: Int
    let totalCount: Int

    enum CodingKeys: String, CodingKey {
        case notifications
        case unreadCount = "unread_count"
        case totalCount = "total_count"
    }

    init(_ list: (items: [NotificationStore.Item], unread: Int, total: Int)) {
        notifications = list.items.map(NotificationJSON.init)
        unreadCount = list.unread
        totalCount = list.total
    }
}
