import Foundation

/// JSON shapes of seed 002.
enum Present {
    static func agent(_ agent: Agent) -> JSONValue {
        [
            "id": .string(agent.uuid), "numeric_id": .int(agent.id),
            "user": AuthController.user(agent),
            "role": .string(agent.role.rawValue), "is_available": .bool(agent.isAvailable),
            "is_active": .bool(agent.isActive), "specialty": .string(agent.specialty),
        ]
    }

    static func room(_ room: ChatStore.Room) -> JSONValue {
        let ticket = room.ticket
        return [
            "id": .string(ticket.uuid),
            "ticket_id": .int(ticket.id),
            "subject": .string(room.subject ?? "Chat de \(ticket.customerName ?? ticket.phone ?? "cliente")"),
            "status": .string(room.status),
            "estado": .string(ticket.status),
            "channel": .string(ticket.channel),
            "categoria": .string(ticket.category),
            "chat_user": [
                "full_name": .optional(ticket.customerName), "email": .optional(room.email),
                "phone_number": .optional(ticket.phone),
            ],
            "agent": room.agent.map { agent -> JSONValue in
                [
                    "id": .string(agent.uuid), "numeric_id": .int(agent.id),
                    "user": [
                        "first_name": .string(agent.firstName), "last_name": .string(agent.lastName),
                        "username": .string(agent.username),
                    ],
                ]
            } ?? .null,
            "created_at": .date(ticket.createdAt),
            "updated_at": .date(ticket.updatedAt),
            "resolved_at": .date(ticket.resolvedAt),
            "closed_at": .date(ticket.closedAt),
            "initial_message": .optional(room.initialMessage ?? ticket.description),
            "unread_messages_count": .int(Int64(room.unread)),
            "last_message": .optional(ticket.lastMessage),
            "last_message_at": .date(room.lastMessageAt),
        ]
    }

    static func message(_ message: ChatStore.ChatMessage) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .int(message.id),
            "chat_room_ticket_id": .int(message.ticketID),
            "content": .string(message.content),
            "sender_type": .string(message.senderType),
            "role": .string(message.role),
            "message_type": .string(message.type),
            "created_at": .date(message.createdAt),
            "is_read": .bool(message.readAt != nil),
            "read_at": .date(message.readAt),
        ]
        if message.role == "tecnico" {
            object["agent_sender"] = [
                "user": [
                    "first_name": .optional(message.agentFirstName), "last_name": .optional(message.agentLastName),
                ]
            ]
        }
        if let status = message.deliveryStatus { object["estado_entrega"] = .string(status) }
        if let attachment = message.attachmentID { object["adjunto_url"] = .string("/attachments/\(attachment)") }
        return .object(object)
    }

    static func notification(_ item: NotificationStore.Item) -> JSONValue {
        [
            "id": .string(String(item.id)), "uuid": .string(item.uuid), "type": .string(item.kind),
            "title": .string(item.title), "message": .string(item.message),
            "chat_room_id": .optional(item.roomUUID), "ticket_id": .optional(item.ticketID),
            "is_read": .bool(item.isRead), "read_at": .date(item.readAt), "created_at": .date(item.createdAt),
        ]
    }

    static func notifications(_ list: (items: [NotificationStore.Item], unread: Int, total: Int)) -> JSONValue {
        [
            "notifications": .array(list.items.map(notification)), "unread_count": .int(Int64(list.unread)),
            "total_count": .int(Int64(list.total)),
        ]
    }
}

extension ChatStore.Problem {
    /// The HTTP error a client sees.
    var apiError: APIError {
        switch self {
        case .notFound: APIError.notFound("Chat no encontrado")
        case .forbidden(let message):
            APIError.forbidden(message.isEmpty ? ChatStore.forbiddenMessage : message)
        case .closed: APIError.badRequest("No se pueden enviar mensajes en un chat cerrado")
        case .conflict(let message): APIError(status: .conflict, detail: message)
        case .invalid(let message): APIError.badRequest(message)
        }
    }
}

/// Runs `body`, turning chat-store problems into HTTP errors.
func mapChatProblems<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let problem as ChatStore.Problem {
        throw problem.apiError
    }
}
