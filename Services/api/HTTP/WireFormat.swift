import Foundation
import HTTPTypes

/// The JSON shapes the seeds define, built in one place from the read models: seed 000/001 tickets and
/// `historial`, seed 002 rooms, messages, agents and notifications.
enum WireFormat {
    static func agent(_ agent: Agent) -> JSONValue {
        [
            "id": .string(agent.uuid), "numeric_id": .int(agent.id),
            "user": user(agent),
            "role": .string(agent.role.rawValue), "is_available": .bool(agent.isAvailable),
            "is_active": .bool(agent.isActive), "specialty": .string(agent.specialty),
        ]
    }

    /// Seed 002's `user` object of an agent.
    static func user(_ agent: Agent) -> JSONValue {
        [
            "id": .int(agent.id), "username": .string(agent.username), "email": .string(agent.email),
            "first_name": .string(agent.firstName), "last_name": .string(agent.lastName),
        ]
    }

    /// The `agent` object of the login answer.
    static func loginAgent(_ agent: Agent) -> JSONValue {
        [
            "id": .string(agent.uuid), "is_available": .bool(agent.isAvailable), "specialty": .string(agent.specialty),
            "role": .string(agent.role.rawValue), "is_active": .bool(agent.isActive),
        ]
    }

    /// A ticket of `GET /tickets` (seed 000/001).
    static func ticket(_ ticket: TicketSummary) -> JSONValue {
        [
            "id": .int(ticket.id),
            "uuid": .string(ticket.uuid),
            "estado": .string(ticket.status.rawValue),
            "channel": .string(ticket.channel.rawValue),
            "categoria": .string(ticket.category),
            "confianza": .optional(ticket.confidence),
            "requiere_revision": .bool(ticket.needsReview),
            "nombre": .optional(ticket.customerName),
            "telefono": .optional(ticket.phone),
            "telefono_verificado": .bool(ticket.phoneVerified),
            "descripcion": .optional(ticket.description),
            "equipo": .optional(ticket.equipment),
            "agente_asignado": .optional(ticket.assignedAgentID),
            "ultimo_mensaje": .optional(ticket.lastMessage),
            "created_at": .date(ticket.createdAt),
            "updated_at": .date(ticket.updatedAt),
            "last_message_at": .date(ticket.lastMessageAt),
            "first_response_at": .date(ticket.firstResponseAt),
            "resolved_at": .date(ticket.resolvedAt),
            "closed_at": .date(ticket.closedAt),
        ]
    }

    /// One entry of `historial` (seed 001).
    static func historyItem(_ message: MessageRow) -> JSONValue {
        var item: [String: JSONValue] = [
            "id": .int(message.id),
            "role": .string(message.role.rawValue),
            "content": .string(message.content),
            "timestamp": .date(message.createdAt),
            "tipo": .string(message.type.rawValue),
        ]
        if let attachment = message.attachmentID {
            item["adjunto_id"] = .int(attachment)
            item["adjunto_url"] = .string("/attachments/\(attachment)")
            item["adjunto_tipo"] = .optional(message.attachmentMime)
        }
        if let status = message.deliveryStatus {
            item["estado_entrega"] = .string(status.rawValue)
            item["intento"] = .int(Int64(message.deliveryAttempt))
            item["error_entrega"] = .optional(message.deliveryError)
        }
        return .object(item)
    }

    /// A chat room (seed 002). Contact details of web chats are what the visitor typed (`verificado: false`).
    static func room(_ ticket: TicketSummary, agent: Agent?) -> JSONValue {
        [
            "id": .string(ticket.uuid),
            "ticket_id": .int(ticket.id),
            "subject": .string(ticket.subject ?? "Chat de \(ticket.customerName ?? ticket.phone ?? "cliente")"),
            "status": .string(ticket.roomStatus.rawValue),
            "estado": .string(ticket.status.rawValue),
            "channel": .string(ticket.channel.rawValue),
            "categoria": .string(ticket.category),
            "chat_user": [
                "full_name": .optional(ticket.customerName), "email": .optional(ticket.email),
                "phone_number": .optional(ticket.phone), "verificado": .bool(ticket.phoneVerified),
            ],
            "agent": agent.map { agent -> JSONValue in
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
            "initial_message": .optional(ticket.initialMessage ?? ticket.description),
            "unread_messages_count": .int(Int64(ticket.unread)),
            "last_message": .optional(ticket.lastMessage),
            "last_message_at": .date(ticket.lastMessageAt),
        ]
    }

    /// A chat message (seed 002).
    static func message(_ message: MessageRow) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .int(message.id),
            "chat_room_ticket_id": .int(message.ticketID),
            "content": .string(message.content),
            "sender_type": .string(message.role == .tecnico ? "agent" : message.role.rawValue),
            "role": .string(message.role.rawValue),
            "message_type": .string(message.type.rawValue),
            "created_at": .date(message.createdAt),
            "is_read": .bool(message.readAt != nil),
            "read_at": .date(message.readAt),
        ]
        if message.role == .tecnico {
            object["agent_sender"] = [
                "user": [
                    "first_name": .optional(message.agentFirstName), "last_name": .optional(message.agentLastName),
                ]
            ]
        }
        if let status = message.deliveryStatus { object["estado_entrega"] = .string(status.rawValue) }
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

    /// Pagination headers of `GET /tickets`.
    static func pageHeaders(_ page: Parameters.Page, total: Int) -> HTTPFields {
        [
            HTTPField.Name("X-Total-Count")!: String(total),
            HTTPField.Name("X-Page")!: String(page.number),
            HTTPField.Name("X-Total-Pages")!: String(page.pages(total: total)),
        ]
    }
}
