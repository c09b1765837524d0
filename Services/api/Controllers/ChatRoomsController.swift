import Foundation
import Hummingbird

/// Chat rooms and messages for agents and web visitors (seed 002). Agents act on their own chats and unassigned
/// ones, admins on all; a visitor only on their own room.
struct ChatRoomsController {
    let chats: ChatStore
    let tickets: TicketStore
    let agents: AgentStore

    /// Routes agents and visitors share (the caller decides what they may do).
    func addSharedRoutes(to router: Router<APIRequestContext>) {
        router.get("api/chatrooms/:room/messages", use: messages)
        router.get("api/messages/by_chat", use: messagesByChat)
        router.post("api/messages/mark_chat_read", use: markChatRead)
        router.get("api/messages/unread_count", use: unreadCount)
    }

    /// Agent-only routes.
    func addAgentRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/chatrooms/filtered_chats", use: filtered)
        group.get("api/chatrooms/:room", use: detail)
        group.post("api/chatrooms/:room/send_message", use: sendInRoom)
        group.post("api/messages", use: sendMessage)
        group.post("api/chatrooms/:room/resolve", use: resolve)
        group.post("api/chatrooms/:room/close", use: close)
        group.post("api/chatrooms/:room/take", use: take)
        group.post("api/chatrooms/:room/assign", use: assign)
        group.post("api/chatrooms/:room/transfer", use: transfer)
        group.post("api/messages/:message/mark_read", use: markRead)
        group.post("api/messages/mark_bulk_read", use: markBulkRead)
    }

    // MARK: Listing

    @Sendable func filtered(_ request: Request, context: APIRequestContext) async throws -> Response {
        let agent = try context.requireAgent
        let query = request.uri.queryParameters
        let status = query["status"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let status, !["waiting", "active", "resolved", "closed"].contains(status) {
            throw APIError.badRequest("Estado desconocido '\(status)'; use waiting, active, resolved o closed")
        }
        let page = try TicketController.integer(query["page"], name: "page", default: 1, range: 1...100_000)
        let pageSize = try TicketController.integer(query["page_size"], name: "page_size", default: 20, range: 1...100)
        let (rooms, total) = try await chats.rooms(for: agent, status: status, page: page, pageSize: pageSize)
        let pages = max(1, (total + pageSize - 1) / pageSize)
        return try JSONValue.object([
            "chats": .array(rooms.map(Present.room)),
            "pagination": [
                "current_page": .int(Int64(page)), "total_pages": .int(Int64(pages)), "total_chats": .int(Int64(total)),
                "has_next": .bool(page < pages), "has_previous": .bool(page > 1),
            ],
            "filters": ["status": .optional(status), "page": .int(Int64(page)), "page_size": .int(Int64(pageSize))],
        ]).response()
    }

    @Sendable func detail(_ request: Request, context: APIRequestContext) async throws -> Response {
        let uuid = try Self.room(context)
        return try await mapChatProblems {
            _ = try await chats.ticketID(forRoom: uuid, caller: context.caller)
            guard let room = try await chats.room(uuid: uuid) else { throw ChatStore.Problem.notFound }
            return try Present.room(room).response()
        }
    }

    // MARK: Messages

    @Sendable func messages(_ request: Request, context: APIRequestContext) async throws -> Response {
        try await listMessages(room: try Self.room(context), request: request, context: context)
    }

    @Sendable func messagesByChat(_ request: Request, context: APIRequestContext) async throws -> Response {
        let room = try request.uri.queryParameters["chat_room_id"].map(String.init).required(parameter: "chat_room_id")
        return try await listMessages(room: room, request: request, context: context)
    }

    /// Messages in order; reading them marks the counterpart's messages read.
    func listMessages(room uuid: String, request: Request, context: APIRequestContext) async throws -> Response {
        guard context.caller != nil else { throw APIError.unauthorized }
        let after = try TicketController.integer(
            request.uri.queryParameters["desde"] ?? request.uri.queryParameters["after"], name: "desde", default: 0,
            range: 0...Int.max)
        return try await mapChatProblems {
            let ticketID = try await chats.ticketID(forRoom: uuid, caller: context.caller)
            let side: ChatStore.Side = context.agent == nil ? .customer : .agents
            let messages = try await chats.messages(ticketID: ticketID, reader: side, after: Int64(after))
            return try JSONValue.array(messages.map(Present.message)).response()
        }
    }

    struct SendBody: Decodable {
        let content: String?
        let chatRoomID: String?
        let messageType: String?
        let clientID: String?
        enum CodingKeys: String, CodingKey {
            case content
            case chatRoomID = "chat_room_id"
            case messageType = "message_type"
            case clientID = "client_id"
        }
    }

    @Sendable func sendInRoom(_ request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(SendBody.self)
        return try await send(room: try Self.room(context), body: body, context: context)
    }

    @Sendable func sendMessage(_ request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(SendBody.self)
        let room = try body.chatRoomID.required(field: "chat_room_id")
        return try await send(room: room, body: body, context: context)
    }

    /// An agent's message: unassigned chats become theirs; WhatsApp chats go out through the relay.
    func send(room uuid: String, body: SendBody, context: APIRequestContext) async throws -> Response {
        let agent = try context.requireAgent
        let text = try Self.messageText(body.content)
        if let type = body.messageType, type != "text" {
            throw APIError.badRequest("Solo se admite message_type 'text'; las fotos llegan por el webhook")
        }
        return try await mapChatProblems {
            let ticketID = try await chats.ticketID(forRoom: uuid, caller: context.caller)
            try await chats.claimForWriting(ticketID: ticketID, by: agent)
            let outbound: TicketStore.Outbound
            do {
                outbound = try await tickets.addOutbound(
                    ticketID: ticketID, text: text, agentID: agent.id, clientID: body.clientID)
            } catch TicketStore.OutboundProblem.ticketClosed {
                throw ChatStore.Problem.closed
            } catch TicketStore.OutboundProblem.noWhatsAppAddress {
                throw APIError(status: .unprocessableContent, detail: "El cliente no tiene un número de WhatsApp")
            }
            let message = try await chats.messages(ticketID: ticketID, reader: .agents, after: outbound.messageID - 1)
                .first { $0.id == outbound.messageID }
            return try (message.map(Present.message) ?? ["id": .int(outbound.messageID)]).response(status: .created)
        }
    }

    static func messageText(_ content: String?) throws -> String {
        guard let content else { throw APIError.badRequest("Falta el campo 'content'") }
        let text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw APIError.badRequest("El mensaje no puede estar vacío") }
        guard text.count <= TicketController.maximumMessageLength else {
            throw APIError.badRequest("El mensaje excede \(TicketController.maximumMessageLength) caracteres")
        }
        return text
    }

    // MARK: Read marks

    @Sendable func markRead(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let text = context.parameters.get("message"), let id = Int64(text) else {
            throw APIError.notFound("Mensaje no encontrado")
        }
        return try await markMessages([id], context: context)
    }

    struct BulkBody: Decodable {
        let messageIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey { case messageIDs = "message_ids" }
    }

    @Sendable func markBulkRead(_ request: Request, context: APIRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(BulkBody.self)
        guard let ids = body.messageIDs else { throw APIError.badRequest("Falta el campo 'message_ids'") }
        guard ids.count <= 1000 else { throw APIError.badRequest("Como máximo 1000 mensajes por petición") }
        return try await markMessages(ids.compactMap { Int64($0.value) }, context: context)
    }

    func markMessages(_ ids: [Int64], context: APIRequestContext) async throws -> Response {
        let agent = try context.requireAgent
        return try await mapChatProblems {
            let ticketIDs = try await chats.tickets(ofMessages: ids)
            guard !ticketIDs.isEmpty else { throw APIError.notFound("Mensaje no encontrado") }
            for ticketID in ticketIDs {
                guard let uuid = try await chats.uuid(forTicket: ticketID) else { continue }
                _ = try await chats.ticketID(forRoom: uuid, caller: .agent(agent))
            }
            let marked = try await chats.markRead(messages: ids)
            return try JSONValue.object(["success": true, "marked": .int(Int64(marked))]).response()
        }
    }

    struct RoomBody: Decodable {
        let chatRoomID: String?
        enum CodingKeys: String, CodingKey { case chatRoomID = "chat_room_id" }
    }

    @Sendable func markChatRead(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard context.caller != nil else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(RoomBody.self)
        let room = try body.chatRoomID.required(field: "chat_room_id")
        return try await mapChatProblems {
            let ticketID = try await chats.ticketID(forRoom: room, caller: context.caller)
            try await chats.markChatRead(ticketID: ticketID, by: context.agent == nil ? .customer : .agents)
            return try JSONValue.object(["success": true]).response()
        }
    }

    @Sendable func unreadCount(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard context.caller != nil else { throw APIError.unauthorized }
        let room = try request.uri.queryParameters["chat_room_id"].map(String.init).required(parameter: "chat_room_id")
        return try await mapChatProblems {
            let ticketID = try await chats.ticketID(forRoom: room, caller: context.caller)
            let count = try await chats.unreadCount(ticketID: ticketID, for: context.agent == nil ? .customer : .agents)
            return try JSONValue.object(["unread_count": .int(Int64(count))]).response()
        }
    }

    // MARK: Status and assignment

    @Sendable func resolve(_ request: Request, context: APIRequestContext) async throws -> Response {
        try await changeStatus("resolved", context: context)
    }

    @Sendable func close(_ request: Request, context: APIRequestContext) async throws -> Response {
        try await changeStatus("closed", context: context)
    }

    func changeStatus(_ status: String, context: APIRequestContext) async throws -> Response {
        let agent = try context.requireAgent
        let uuid = try Self.room(context)
        return try await mapChatProblems {
            let ticketID = try await chats.ticketID(forRoom: uuid, caller: context.caller)
            return try Present.room(try await chats.setStatus(ticketID: ticketID, to: status, by: agent)).response()
        }
    }

    @Sendable func take(_ request: Request, context: APIRequestContext) async throws -> Response {
        let agent = try context.requireAgent
        let uuid = try Self.room(context)
        return try await mapChatProblems {
            let ticketID = try await chats.ticketID(forRoom: uuid, caller: context.caller)
            return try Present.room(try await chats.assign(ticketID: ticketID, to: agent, by: agent, as: .take))
                .response()
        }
    }

    struct AgentBody: Decodable {
        let agentID: FlexibleString?
        enum CodingKeys: String, CodingKey { case agentID = "agent_id" }
    }

    @Sendable func assign(_ request: Request, context: APIRequestContext) async throws -> Response {
        try await giveTo(request: request, context: context, as: .assign)
    }

    @Sendable func transfer(_ request: Request, context: APIRequestContext) async throws -> Response {
        try await giveTo(request: request, context: context, as: .transfer)
    }

    func giveTo(request: Request, context: APIRequestContext, as assignment: ChatStore.Assignment) async throws
        -> Response
    {
        let actor = try context.requireAgent
        let uuid = try Self.room(context)
        let body = try await request.decodeJSON(AgentBody.self)
        guard let key = body.agentID?.value else { throw APIError.badRequest("Falta el campo 'agent_id'") }
        guard let target = try await agents.find(key) else { throw APIError.badRequest("Agente desconocido: \(key)") }
        return try await mapChatProblems {
            // Admins may reach any chat; others must be allowed on it (transfer checks the assignee itself).
            guard let room = try await chats.room(uuid: uuid) else { throw ChatStore.Problem.notFound }
            return try Present.room(
                try await chats.assign(ticketID: room.ticket.id, to: target, by: actor, as: assignment)
            ).response()
        }
    }

    static func room(_ context: APIRequestContext) throws -> String {
        guard let room = context.parameters.get("room"), UUID(uuidString: room) != nil else {
            throw APIError.notFound("Chat no encontrado")
        }
        return room
    }
}
