import Foundation
import Hummingbird

/// Chat rooms and messages for agents and web visitors (seed 002). Who may do what is `TicketAccess`'s decision.
struct ChatRoomsController {
    let conversations: Conversations
    let agents: AgentStore

    /// Routes agents and visitors share (the access policy decides what each may do).
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

    // MARK: Rooms

    @Sendable func filtered(_ request: Request, context: APIRequestContext) async throws -> RoomListJSON {
        let agent = try context.requireAgent
        let text = request.uri.queryParameters["status"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let status = try text.map { text in
            guard let status = RoomStatus(rawValue: text) else {
                throw APIError.badRequest("Estado desconocido '\(text)'; use waiting, active, resolved o closed")
            }
            return status
        }
        let page = try Parameters.Page(request)
        var filter = Tickets.Filter(room: status, page: page.number, pageSize: page.size, byActivity: true)
        filter.label = request.uri.queryParameters["label"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let (tickets, total) = try await conversations.tickets.list(filter, visibleTo: agent)
        var rooms: [RoomJSON] = []
        for ticket in tickets { rooms.append(try await room(ticket)) }
        return RoomListJSON(chats: rooms, page: page, total: total, status: text)
    }

    @Sendable func detail(_ request: Request, context: APIRequestContext) async throws -> RoomJSON {
        let ticket = try await conversations.ticket(try Self.room(context), for: context.caller, to: .read)
        return try await room(ticket.id)
    }

    /// A room as seed 002 shows it.
    func room(_ ticketID: Int64) async throws -> RoomJSON {
        guard let summary = try await conversations.tickets.summary(id: ticketID) else {
            throw ConversationProblem.notFound
        }
        return try await room(summary)
    }

    func room(_ summary: TicketSummary) async throws -> RoomJSON {
        let agent = try await summary.assignedAgentID.asyncMap { try await agents.find(String($0)) } ?? nil
        return RoomJSON(summary, agent: agent)
    }

    // MARK: Messages

    @Sendable func messages(_ request: Request, context: APIRequestContext) async throws -> [MessageJSON] {
        try await listMessages(room: try Self.room(context), request: request, context: context)
    }

    @Sendable func messagesByChat(_ request: Request, context: APIRequestContext) async throws -> [MessageJSON] {
        let room = try request.uri.queryParameters["chat_room_id"].map(String.init).required(parameter: "chat_room_id")
        return try await listMessages(room: room, request: request, context: context)
    }

    /// Messages in order; reading them marks the other side's messages read.
    func listMessages(room: String, request: Request, context: APIRequestContext) async throws -> [MessageJSON] {
        let ticket = try await conversations.ticket(room, for: context.caller, to: .read)
        let after = try Parameters.integer(
            request.uri.queryParameters["desde"] ?? request.uri.queryParameters["after"], name: "desde", default: 0,
            range: 0...Int.max)
        if let caller = context.caller { try await conversations.markRead(ticket, by: caller) }
        let messages = try await conversations.messages.after(
            Int64(after), ticketID: ticket.id, limit: 100_000, for: Audience(context.caller))
        return messages.map(MessageJSON.init)
    }

    struct SendBody: Decodable {
        let content: String?
        let chatRoomID: String?
        let messageType: String?
        let clientID: String?
        /// The id of the chat's message this one answers.
        let replyTo: Int64?
        enum CodingKeys: String, CodingKey {
            case content
            case chatRoomID = "chat_room_id"
            case messageType = "message_type"
            case clientID = "client_id"
            case replyTo = "reply_to"
        }
    }

    @Sendable func sendInRoom(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<
        MessageJSON
    > {
        let body = try await request.decodeJSON(SendBody.self)
        return try await send(room: try Self.room(context), body: body, context: context)
    }

    @Sendable func sendMessage(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<
        MessageJSON
    > {
        let body = try await request.decodeJSON(SendBody.self)
        return try await send(room: try body.chatRoomID.required(field: "chat_room_id"), body: body, context: context)
    }

    /// An agent's message: unassigned chats become theirs; WhatsApp chats go out through the relay.
    func send(room: String, body: SendBody, context: APIRequestContext) async throws -> EditedResponse<MessageJSON> {
        let agent = try context.requireAgent
        let text = try Parameters.messageText(body.content)
        if let type = body.messageType, type != "text" {
            throw APIError.badRequest("Solo se admite message_type 'text'; los archivos se suben por el chat en vivo")
        }
        let ticket = try await conversations.ticket(room, for: context.caller, to: .write)
        let posted = try await conversations.post(
            text, clientID: try Parameters.clientID(body.clientID), by: .agent(agent), in: ticket.id,
            replyTo: body.replyTo)
        guard
            let message = try await conversations.messages.find(
                posted.messageID, ticketID: ticket.id, for: Audience(context.caller))
        else {
            throw ConversationProblem.notFound
        }
        return EditedResponse(status: .created, response: MessageJSON(message))
    }

    // MARK: Read marks

    @Sendable func markRead(_ request: Request, context: APIRequestContext) async throws -> MarkedJSON {
        guard let text = context.parameters.get("message"), let id = Int64(text) else {
            throw APIError.notFound("Mensaje no encontrado")
        }
        return try await markMessages([id], context: context)
    }

    struct BulkBody: Decodable {
        let messageIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey { case messageIDs = "message_ids" }
    }

    @Sendable func markBulkRead(_ request: Request, context: APIRequestContext) async throws -> MarkedJSON {
        let body = try await request.decodeJSON(BulkBody.self)
        return try await markMessages(
            try Parameters.numericIDs(body.messageIDs, field: "message_ids"), context: context)
    }

    func markMessages(_ ids: [Int64], context: APIRequestContext) async throws -> MarkedJSON {
        let agent = try context.requireAgent
        return MarkedJSON(marked: try await conversations.markRead(messages: ids, by: .agent(agent)))
    }

    struct RoomBody: Decodable {
        let chatRoomID: String?
        enum CodingKeys: String, CodingKey { case chatRoomID = "chat_room_id" }
    }

    @Sendable func markChatRead(_ request: Request, context: APIRequestContext) async throws -> SuccessJSON {
        guard let caller = context.caller else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(RoomBody.self)
        let ticket = try await conversations.ticket(
            try body.chatRoomID.required(field: "chat_room_id"), for: caller, to: .read)
        try await conversations.markRead(ticket, by: caller)
        return SuccessJSON()
    }

    @Sendable func unreadCount(_ request: Request, context: APIRequestContext) async throws -> UnreadCountJSON {
        guard let caller = context.caller else { throw APIError.unauthorized }
        let room = try request.uri.queryParameters["chat_room_id"].map(String.init).required(parameter: "chat_room_id")
        let ticket = try await conversations.ticket(room, for: caller, to: .read)
        let count = try await conversations.messages.unreadCount(ticketID: ticket.id, for: ReaderSide(caller))
        return UnreadCountJSON(unreadCount: count)
    }

    // MARK: Status and assignment

    @Sendable func resolve(_ request: Request, context: APIRequestContext) async throws -> RoomJSON {
        try await changeStatus(.resolved, context: context)
    }

    @Sendable func close(_ request: Request, context: APIRequestContext) async throws -> RoomJSON {
        try await changeStatus(.closed, context: context)
    }

    func changeStatus(_ status: TicketStatus, context: APIRequestContext) async throws -> RoomJSON {
        let agent = try context.requireAgent
        let ticket = try await conversations.ticket(try Self.room(context), for: context.caller, to: .act)
        let changed = try await conversations.setStatus(status, of: ticket.id, by: agent)
        return try await room(changed.id)
    }

    @Sendable func take(_ request: Request, context: APIRequestContext) async throws -> RoomJSON {
        let agent = try context.requireAgent
        let ticket = try await conversations.ticket(try Self.room(context), for: context.caller, to: .read)
        let taken = try await conversations.assign(ticket.id, to: agent, by: agent, as: .take)
        return try await room(taken.id)
    }

    struct AgentBody: Decodable {
        let agentID: FlexibleString?
        enum CodingKeys: String, CodingKey { case agentID = "agent_id" }
    }

    @Sendable func assign(_ request: Request, context: APIRequestContext) async throws -> RoomJSON {
        try await giveTo(request: request, context: context, as: .assign)
    }

    @Sendable func transfer(_ request: Request, context: APIRequestContext) async throws -> RoomJSON {
        try await giveTo(request: request, context: context, as: .transfer)
    }

    /// `assign` (admins) and `transfer` (the assignee or an admin): the assignment rule decides.
    func giveTo(request: Request, context: APIRequestContext, as assignment: Conversations.Assignment) async throws
        -> RoomJSON
    {
        let actor = try context.requireAgent
        let room = try Self.room(context)
        let body = try await request.decodeJSON(AgentBody.self)
        guard let key = body.agentID?.value else { throw APIError.badRequest("Falta el campo 'agent_id'") }
        guard let target = try await agents.find(key) else { throw APIError.badRequest("Agente desconocido: \(key)") }
        guard let ticket = try await conversations.tickets.facts(key: room) else { throw ConversationProblem.notFound }
        let given = try await conversations.assign(ticket.id, to: target, by: actor, as: assignment)
        return try await self.room(given.id)
    }

    static func room(_ context: APIRequestContext) throws -> String {
        guard let room = context.parameters.get("room"), UUID(uuidString: room) != nil else {
            throw APIError.notFound("Chat no encontrado")
        }
        return room
    }
}
