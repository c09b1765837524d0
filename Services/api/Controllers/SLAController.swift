import Foundation
import Hummingbird

/// SLA policies: agents read them (`GET /api/sla-policies`), admins keep them (`POST`, `PUT/PATCH/DELETE
/// /api/sla-policies/{id}`); `GET /api/tickets/{id}/sla` says where a ticket stands (for whoever may read it).
struct SLAController {
    let policies: SLAPolicies
    let conversations: Conversations
    let audit: AuditStore

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/sla-policies", use: list)
        group.post("api/sla-policies", use: create)
        group.put("api/sla-policies/:policy", use: update)
        group.patch("api/sla-policies/:policy", use: update)
        group.delete("api/sla-policies/:policy", use: delete)
        group.get("api/tickets/:id/sla", use: ticket)
    }

    struct Body: Decodable {
        let name: String?
        let category: String?
        let label: String?
        let firstResponseMinutes: Int?
        let resolutionMinutes: Int?

        enum CodingKeys: String, CodingKey {
            case name, category, label
            case firstResponseMinutes = "first_response_minutes"
            case resolutionMinutes = "resolution_minutes"
        }
    }

    /// Targets from one minute to a year.
    static let minutes = 1...525_600

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> [SLAPolicyJSON] {
        _ = try context.requireAgent
        return try await policies.all().map(SLAPolicyJSON.init)
    }

    @Sendable func create(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<SLAPolicyJSON>
    {
        let admin = try context.requireAdmin(to: "gestionar los acuerdos de nivel de servicio")
        let draft = try Self.draft(try await request.decodeJSON(Body.self))
        let created = try await Self.mapping { try await policies.create(draft) }
        try await audit.record(
            AuditEntry("sla.create", by: admin, target: ("sla", String(created.id)), details: ["nombre": created.name]))
        return EditedResponse(status: .created, response: SLAPolicyJSON(created))
    }

    @Sendable func update(_ request: Request, context: APIRequestContext) async throws -> SLAPolicyJSON {
        let admin = try context.requireAdmin(to: "gestionar los acuerdos de nivel de servicio")
        let id = try Self.id(context)
        let draft = try Self.draft(try await request.decodeJSON(Body.self))
        let updated = try await Self.mapping { try await policies.update(id, draft) }
        try await audit.record(
            AuditEntry("sla.update", by: admin, target: ("sla", String(id)), details: ["nombre": updated.name]))
        return SLAPolicyJSON(updated)
    }

    @Sendable func delete(_ request: Request, context: APIRequestContext) async throws -> Response {
        let admin = try context.requireAdmin(to: "gestionar los acuerdos de nivel de servicio")
        let id = try Self.id(context)
        try await Self.mapping { try await policies.delete(id) }
        try await audit.record(AuditEntry("sla.delete", by: admin, target: ("sla", String(id))))
        return Response(status: .noContent)
    }

    @Sendable func ticket(_ request: Request, context: APIRequestContext) async throws -> TicketSLAJSON {
        let ticket = try await conversations.ticket(
            try Parameters.ticketNumber(context), for: context.caller, to: .read)
        guard case .agent = context.caller else { throw APIError.forbidden("Solo los agentes ven los plazos") }
        return TicketSLAJSON(ticketID: ticket.id, status: try await policies.status(ticketID: ticket.id), now: Date())
    }

    // MARK: Input

    /// A policy as a whole (PUT and PATCH alike replace it): a name and at least one target.
    static func draft(_ body: Body) throws -> SLAPolicies.Draft {
        guard let name = body.name?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else {
            throw APIError.badRequest("Falta 'name'")
        }
        guard name.count <= 60 else { throw APIError.badRequest("'name' excede 60 caracteres") }
        if let category = body.category, !["Hardware", "Software"].contains(category) {
            throw APIError.badRequest("'category' debe ser Hardware o Software (o no indicarse: cualquiera)")
        }
        guard body.firstResponseMinutes != nil || body.resolutionMinutes != nil else {
            throw APIError.badRequest("Indique 'first_response_minutes', 'resolution_minutes' o ambos")
        }
        for (field, value) in [
            ("first_response_minutes", body.firstResponseMinutes), ("resolution_minutes", body.resolutionMinutes),
        ] {
            if let value, !minutes.contains(value) {
                throw APIError.badRequest("'\(field)' debe estar entre 1 y \(minutes.upperBound) minutos")
            }
        }
        if let first = body.firstResponseMinutes, let resolution = body.resolutionMinutes, resolution < first {
            throw APIError.badRequest("'resolution_minutes' no puede ser menor que 'first_response_minutes'")
        }
        return SLAPolicies.Draft(
            name: name, category: body.category, label: body.label.flatMap { $0.isEmpty ? nil : $0 },
            firstResponseMinutes: body.firstResponseMinutes, resolutionMinutes: body.resolutionMinutes)
    }

    static func id(_ context: APIRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("policy"), let id = Int64(text), id > 0 else {
            throw APIError.notFound("Política no encontrada")
        }
        return id
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch SLAPolicies.Problem.notFound {
            throw APIError.notFound("Política no encontrada")
        } catch SLAPolicies.Problem.duplicate(let name) {
            throw APIError(status: .conflict, detail: "Ya existe una política llamada '\(name.prefix(60))'")
        } catch SLAPolicies.Problem.unknownLabel(let name) {
            throw APIError.badRequest("No existe la etiqueta '\(name.prefix(40))'")
        }
    }
}

struct SLAPolicyJSON: ResponseEncodable, Sendable {
    let id: Int64
    let name: String
    @Nullable var category: String?
    @Nullable var label: String?
    @Nullable var firstResponseMinutes: Int?
    @Nullable var resolutionMinutes: Int?

    enum CodingKeys: String, CodingKey {
        case id, name, category, label
        case firstResponseMinutes = "first_response_minutes"
        case resolutionMinutes = "resolution_minutes"
    }

    init(_ policy: SLAPolicy) {
        id = policy.id
        name = policy.name
        category = policy.category
        label = policy.labelName
        firstResponseMinutes = policy.firstResponseMinutes
        resolutionMinutes = policy.resolutionMinutes
    }
}

/// `GET /api/tickets/{id}/sla`: the policy and each target's due time, whether met, time left (negative: late).
struct TicketSLAJSON: ResponseEncodable, Sendable {
    struct Target: Encodable, Sendable {
        let dueAt: Date
        @Nullable var metAt: Date?
        let breached: Bool
        /// Seconds until due while pending (negative once late); null once met.
        @Nullable var remainingSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case breached
            case dueAt = "due_at"
            case metAt = "met_at"
            case remainingSeconds = "remaining_seconds"
        }

        init(_ target: SLAStatus.Target, now: Date) {
            dueAt = target.dueAt
            metAt = target.metAt
            breached = target.breached(at: now)
            remainingSeconds = target.metAt == nil ? Int(target.dueAt.timeIntervalSince(now).rounded()) : nil
        }
    }

    let ticketID: Int64
    @Nullable var policy: SLAPolicyJSON?
    @Nullable var firstResponse: Target?
    @Nullable var resolution: Target?

    enum CodingKeys: String, CodingKey {
        case policy, resolution
        case ticketID = "ticket_id"
        case firstResponse = "first_response"
    }

    init(ticketID: Int64, status: SLAStatus?, now: Date) {
        self.ticketID = ticketID
        policy = status.map { SLAPolicyJSON($0.policy) }
        firstResponse = status?.firstResponse.map { Target($0, now: now) }
        resolution = status?.resolution.map { Target($0, now: now) }
    }
}
