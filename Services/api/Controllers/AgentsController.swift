import Foundation
import Hummingbird

/// `/api/agents/`: admins create, list, update and deactivate agents; agents may list active colleagues (to
/// transfer a chat) and switch their own availability.
struct AgentsController {
    let agents: AgentStore
    /// Told when an agent's sessions or rights change, so that their WebSockets are checked on every instance.
    let live: any LivePublisher
    let audit: AuditStore
    /// Auto-assignment follows availability: an agent who leaves hands on their chats, one who returns takes
    /// what waits.
    let conversations: Conversations

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/agents", use: list)
        group.post("api/agents", use: create)
        group.get("api/agents/:agent", use: show)
        group.patch("api/agents/:agent", use: update)
        group.put("api/agents/:agent", use: update)
        group.delete("api/agents/:agent", use: deactivate)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> [AgentJSON] {
        let caller = try context.requireAgent
        let all = try await agents.all()
        let visible = caller.role == .admin ? all : all.filter(\.isActive)
        return visible.map(AgentJSON.init)
    }

    struct CreateBody: Decodable {
        let username: String?
        let password: String?
        let email: String?
        let firstName: String?
        let lastName: String?
        let role: String?
        let specialty: String?
        let isAvailable: Bool?
        enum CodingKeys: String, CodingKey {
            case username, password, email, role, specialty
            case firstName = "first_name"
            case lastName = "last_name"
            case isAvailable = "is_available"
        }
    }

    @Sendable func create(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<AgentJSON> {
        let admin = try context.requireAdmin(to: "gestionar agentes")
        let body = try await request.decodeJSON(CreateBody.self)
        guard let username = body.username?.trimmingCharacters(in: .whitespaces), (3...64).contains(username.count),
            username.allSatisfy({ $0.isLetter || $0.isNumber || "._-@".contains($0) })
        else { throw APIError.badRequest("'username' debe tener de 3 a 64 letras, números o . _ - @") }
        guard let password = body.password, (8...200).contains(password.count) else {
            throw APIError.badRequest("'password' debe tener al menos 8 caracteres")
        }
        var draft = AgentStore.Draft(username: username, password: password)
        draft.email = body.email ?? ""
        draft.firstName = try Self.name(body.firstName, field: "first_name") ?? ""
        draft.lastName = try Self.name(body.lastName, field: "last_name") ?? ""
        draft.role = try Self.role(body.role) ?? .agent
        draft.specialty = try Self.name(body.specialty, field: "specialty") ?? draft.specialty
        draft.isAvailable = body.isAvailable ?? true
        do {
            let created = try await agents.create(draft)
            try await audit.record(
                AuditEntry(
                    "agent.create", by: admin, target: ("agent", created.uuid),
                    details: ["usuario": created.username, "rol": created.role.rawValue]))
            return EditedResponse(status: .created, response: AgentJSON(created))
        } catch AgentStore.AdminProblem.usernameTaken {
            throw APIError(status: .conflict, detail: "Ya existe un agente con ese usuario")
        }
    }

    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> AgentJSON {
        _ = try context.requireAgent
        return AgentJSON(try await find(context))
    }

    struct UpdateBody: Decodable {
        let password: String?
        let email: String?
        let firstName: String?
        let lastName: String?
        let role: String?
        let specialty: String?
        let isAvailable: Bool?
        let isActive: Bool?
        enum CodingKeys: String, CodingKey {
            case password, email, role, specialty
            case firstName = "first_name"
            case lastName = "last_name"
            case isAvailable = "is_available"
            case isActive = "is_active"
        }
    }

    @Sendable func update(_ request: Request, context: APIRequestContext) async throws -> AgentJSON {
        let caller = try context.requireAgent
        let target = try await find(context)
        let body = try await request.decodeJSON(UpdateBody.self)
        let onlyOwnAvailability =
            target.id == caller.id && body.password == nil && body.role == nil && body.isActive == nil
            && body.email == nil && body.firstName == nil && body.lastName == nil && body.specialty == nil
        guard caller.role == .admin || onlyOwnAvailability else {
            throw APIError.forbidden("Solo un administrador puede modificar agentes")
        }
        if let password = body.password, !(8...200).contains(password.count) {
            throw APIError.badRequest("'password' debe tener al menos 8 caracteres")
        }
        let changes = AgentStore.Changes(
            password: body.password, email: body.email, firstName: try Self.name(body.firstName, field: "first_name"),
            lastName: try Self.name(body.lastName, field: "last_name"), role: try Self.role(body.role),
            specialty: try Self.name(body.specialty, field: "specialty"), isAvailable: body.isAvailable,
            isActive: body.isActive)
        return try await apply(changes, to: target, by: caller)
    }

    /// A name field under `TextRules` (empty allowed): 400 naming the field otherwise.
    static func name(_ value: String?, field: String) throws -> String? {
        guard let value else { return nil }
        do {
            return try TextRules.name(value, minimumLength: 0)
        } catch {
            throw APIError.badRequest("'\(field)': \(error.nameReason)")
        }
    }

    @Sendable func deactivate(_ request: Request, context: APIRequestContext) async throws -> AgentJSON {
        let admin = try context.requireAdmin(to: "gestionar agentes")
        var changes = AgentStore.Changes()
        changes.isActive = false
        return try await apply(changes, to: try await find(context), by: admin)
    }

    func apply(_ changes: AgentStore.Changes, to target: Agent, by actor: Agent) async throws -> AgentJSON {
        do {
            let updated = try await agents.update(target.id, changes)
            try await audit.record(
                AuditEntry(
                    changes.isActive == false ? "agent.deactivate" : "agent.update", by: actor,
                    target: ("agent", updated.uuid), details: Self.described(changes, of: updated)))
            if changes.password != nil || changes.role != nil || changes.isActive != nil {
                live.sessionsRevoked(updated)
            }
            if changes.isActive != nil || changes.isAvailable != nil {
                try await conversations.rebalance(after: updated, by: actor)
            }
            return AgentJSON(updated)
        } catch AgentStore.AdminProblem.lastAdmin {
            throw APIError(status: .conflict, detail: "No se puede quitar al último administrador activo")
        } catch AgentStore.AdminProblem.notFound {
            throw APIError.notFound("Agente no encontrado")
        }
    }

    func find(_ context: APIRequestContext) async throws -> Agent {
        guard let key = context.parameters.get("agent"), let agent = try await agents.find(key) else {
            throw APIError.notFound("Agente no encontrado")
        }
        return agent
    }

    static func role(_ text: String?) throws -> Agent.Role? {
        guard let text else { return nil }
        guard let role = Agent.Role(rawValue: text) else { throw APIError.badRequest("'role' debe ser admin o agent") }
        return role
    }

    /// What an agent change touched, for the audit log: the new values, never the password.
    static func described(_ changes: AgentStore.Changes, of agent: Agent) -> [String: String] {
        var details = ["usuario": agent.username]
        if changes.password != nil { details["contraseña"] = "cambiada" }
        if let role = changes.role { details["rol"] = role.rawValue }
        if let active = changes.isActive { details["activo"] = String(active) }
        if let available = changes.isAvailable { details["disponible"] = String(available) }
        if let email = changes.email { details["email"] = email }
        if changes.firstName != nil || changes.lastName != nil { details["nombre"] = agent.displayName }
        if let specialty = changes.specialty { details["especialidad"] = specialty }
        return details
    }
}
