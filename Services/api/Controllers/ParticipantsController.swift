import Foundation
import Hummingbird

/// Several technicians on one chat (seed 001 "chat grupal con múltiples técnicos", seed 003 `agente_joined` /
/// `agente_left`): the owner (the assigned agent) or an admin invites agents, an admin may join, a participant
/// leaves, the owner or an admin removes one. Participants read and write; the owner stays the owner.
struct ParticipantsController {
    let conversations: Conversations
    let agents: AgentStore

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/chatrooms/:room/participants", use: list)
        group.post("api/chatrooms/:room/participants", use: invite)
        group.delete("api/chatrooms/:room/participants/:agent", use: remove)
        group.post("api/chatrooms/:room/join", use: join)
        group.post("api/chatrooms/:room/leave", use: leave)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> ParticipantsJSON {
        let ticket = try await conversations.ticket(
            try ChatRoomsController.room(context), for: context.caller, to: .read)
        return ParticipantsJSON(try await conversations.participants(of: ticket.id), room: ticket.uuid)
    }

    @Sendable func invite(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<
        ParticipantsJSON
    > {
        let actor = try context.requireAgent
        let body = try await request.decodeJSON(ChatRoomsController.AgentBody.self)
        guard let key = body.agentID?.value else { throw APIError.badRequest("Falta el campo 'agent_id'") }
        guard let target = try await agents.find(key) else { throw APIError.badRequest("Agente desconocido: \(key)") }
        return try await add(target, by: actor, context: context)
    }

    @Sendable func join(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<
        ParticipantsJSON
    > {
        let actor = try context.requireAgent
        return try await add(actor, by: actor, context: context)
    }

    func add(_ target: Agent, by actor: Agent, context: APIRequestContext) async throws -> EditedResponse<
        ParticipantsJSON
    > {
        let ticket = try await conversations.ticket(
            try ChatRoomsController.room(context), for: .agent(actor), to: .read)
        let (participants, added) = try await conversations.addParticipant(target, to: ticket.id, by: actor)
        return EditedResponse(
            status: added ? .created : .ok, response: ParticipantsJSON(participants, room: ticket.uuid))
    }

    @Sendable func remove(_ request: Request, context: APIRequestContext) async throws -> ParticipantsJSON {
        let actor = try context.requireAgent
        guard let key = context.parameters.get("agent"), let target = try await agents.find(key) else {
            throw APIError.notFound("Agente no encontrado")
        }
        return try await drop(target, by: actor, context: context)
    }

    @Sendable func leave(_ request: Request, context: APIRequestContext) async throws -> ParticipantsJSON {
        let actor = try context.requireAgent
        return try await drop(actor, by: actor, context: context)
    }

    func drop(_ target: Agent, by actor: Agent, context: APIRequestContext) async throws -> ParticipantsJSON {
        let ticket = try await conversations.ticket(
            try ChatRoomsController.room(context), for: .agent(actor), to: .read)
        return ParticipantsJSON(
            try await conversations.removeParticipant(target, from: ticket.id, by: actor), room: ticket.uuid)
    }
}
