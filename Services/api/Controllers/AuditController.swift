import Foundation
import Hummingbird

/// `GET /api/audit`: the audit log, newest first, for admins, filtered by who, what, ticket and dates.
struct AuditController {
    let audit: AuditStore

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/audit", use: list)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> AuditPageJSON {
        try context.requireAdmin(to: "leer el registro de auditoría")
        let query = request.uri.queryParameters
        let page = try Parameters.Page(request, defaultSize: 50, maximumSize: 500)
        var filter = AuditStore.Filter(page: page.number, pageSize: page.size)
        filter.actor = Self.text(query["actor"])
        filter.action = Self.text(query["action"])
        if let ticket = Self.text(query["ticket"]) {
            guard let id = Int64(ticket.trimmingCharacters(in: CharacterSet(charactersIn: "#"))), id > 0 else {
                throw APIError.badRequest("'ticket' debe ser un número de ticket")
            }
            filter.ticketID = id
        }
        filter.since = try Parameters.instant(query["since"], name: "since", endOfDay: false)
        filter.until = try Parameters.instant(query["until"], name: "until", endOfDay: true)
        let (rows, total) = try await audit.list(filter)
        return AuditPageJSON(
            entries: rows.map(AuditEntryJSON.init), total: total, page: page.number, pages: page.pages(total: total))
    }

    static func text(_ value: Substring?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return String(value.prefix(100))
    }
}

struct AuditEntryJSON: Encodable, Sendable {
    let id: Int64
    let at: Date
    let action: String
    @Nullable var actor: String?
    @Nullable var actorID: Int64?
    @Nullable var targetType: String?
    @Nullable var targetID: String?
    @Nullable var ticketID: Int64?
    let details: [String: String]
    @Nullable var address: String?

    enum CodingKeys: String, CodingKey {
        case id, at, action, actor, details, address
        case actorID = "actor_id"
        case targetType = "target_type"
        case targetID = "target_id"
        case ticketID = "ticket_id"
    }

    init(_ row: AuditStore.Row) {
        id = row.id
        at = row.at
        action = row.entry.action
        actor = row.entry.actorName
        actorID = row.entry.actorID
        targetType = row.entry.targetType
        targetID = row.entry.targetID
        ticketID = row.entry.ticketID
        details = row.entry.details
        address = row.entry.address
    }
}

struct AuditPageJSON: ResponseEncodable, Sendable {
    let entries: [AuditEntryJSON]
    let total: Int
    let page: Int
    let pages: Int
}
