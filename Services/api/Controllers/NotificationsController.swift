import Foundation
import Hummingbird

/// `/api/notifications/`: an agent's own notifications (seed 002).
struct NotificationsController {
    let notifications: NotificationStore

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/notifications", use: list)
        group.get("api/notifications/unread_count", use: unreadCount)
        group.post("api/notifications/mark_read", use: markRead)
        group.post("api/notifications/mark_all_read", use: markAllRead)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> NotificationListJSON {
        let agent = try context.requireAgent
        return NotificationListJSON(try await notifications.forAgent(agent.id))
    }

    @Sendable func unreadCount(_ request: Request, context: APIRequestContext) async throws -> UnreadCountJSON {
        let agent = try context.requireAgent
        let list = try await notifications.forAgent(agent.id, limit: 0)
        return UnreadCountJSON(unreadCount: list.unread)
    }

    struct MarkBody: Decodable {
        let notificationIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey { case notificationIDs = "notification_ids" }
    }

    @Sendable func markRead(_ request: Request, context: APIRequestContext) async throws -> MarkedJSON {
        let agent = try context.requireAgent
        let body = try await request.decodeJSON(MarkBody.self)
        let ids = try Parameters.ids(body.notificationIDs, field: "notification_ids")
        return MarkedJSON(marked: try await notifications.markReadForAgent(agent.id, ids: ids))
    }

    @Sendable func markAllRead(_ request: Request, context: APIRequestContext) async throws -> MarkedJSON {
        let agent = try context.requireAgent
        return MarkedJSON(marked: try await notifications.markReadForAgent(agent.id, ids: nil))
    }
}
