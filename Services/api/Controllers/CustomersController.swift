import Foundation
import Hummingbird
import MostradorSQL

/// `GET /api/customers/{id}` (agents): one person's history — who they are on each channel and every ticket the
/// caller may read (admins: all), newest first, with the merges that made them one customer. A merged customer's
/// id answers with the customer it was merged into.
struct CustomersController {
    let reader: SQLDatabase

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/customers/:customer", use: show)
    }

    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> CustomerHistoryJSON {
        let agent = try context.requireAgent
        guard let text = context.parameters.get("customer"), let requested = Int64(text) else {
            throw APIError.notFound("Cliente no encontrado")
        }
        let history = try await reader.read { db in try Self.history(of: requested, visibleTo: agent, db: db) }
        guard let history else { throw APIError.notFound("Cliente no encontrado") }
        return history
    }

    /// Nil when there is no such customer, or (for an agent) none of their tickets is one the agent may read.
    static func history(of requested: Int64, visibleTo agent: Agent, db: Database) throws -> CustomerHistoryJSON? {
        // The customer the person is now: `Customers.merge` points every merged record straight at the survivor.
        let id =
            try Int64.fetchOne(db, sql: "SELECT merged_into FROM customers WHERE id = ?", arguments: [requested])
            ?? requested
        guard let customer = try Row.fetchOne(db, sql: "SELECT * FROM customers WHERE id = ?", arguments: [id]) else {
            return nil
        }
        let visibility = TicketAccess.visibility(for: agent)
        let tickets = try Row.fetchAll(
            db,
            sql: """
                SELECT \(Tickets.summaryColumns) \(Tickets.from)
                WHERE t.customer_id = ? AND \(visibility.sql) ORDER BY t.id DESC LIMIT 500
                """,
            arguments: [id] + visibility.arguments
        ).map(TicketSummary.init(row:))
        guard agent.role == .admin || !tickets.isEmpty else { return nil }
        let identities = try Row.fetchAll(
            db,
            sql: """
                SELECT kind, value, address, verified_by, created_at, last_seen_at FROM customer_identities
                WHERE customer_id = ? ORDER BY last_seen_at DESC
                """,
            arguments: [id])
        let merges = try Row.fetchAll(
            db,
            sql: "SELECT merged_id, evidence, created_at FROM customer_merges WHERE survivor_id = ? ORDER BY id",
            arguments: [id])
        return CustomerHistoryJSON(
            id: id, requested: requested, name: customer["name"], email: customer["email"],
            language: customer["language"], createdAt: customer["created_at"],
            identities: identities.map {
                .init(
                    kind: $0["kind"], address: (try? SenderAddress($0["address"] as String).display) ?? $0["value"],
                    verifiedBy: $0["verified_by"], firstSeen: $0["created_at"], lastSeen: $0["last_seen_at"])
            },
            tickets: tickets.map(TicketJSON.init),
            merges: merges.map { .init(mergedID: $0["merged_id"], evidence: $0["evidence"], at: $0["created_at"]) })
    }
}

/// `GET /api/customers/{id}`.
struct CustomerHistoryJSON: ResponseEncodable, Sendable {
    struct Identity: Encodable, Sendable {
        let kind: String
        let address: String
        @Nullable var verifiedBy: String?
        let firstSeen: Date
        let lastSeen: Date

        enum CodingKeys: String, CodingKey {
            case kind = "tipo"
            case address = "direccion"
            case verifiedBy = "verificada_por"
            case firstSeen = "desde"
            case lastSeen = "ultimo_uso"
        }
    }

    struct Merge: Encodable, Sendable {
        let mergedID: Int64
        let evidence: String
        let at: Date

        enum CodingKeys: String, CodingKey {
            case mergedID = "cliente_unido"
            case evidence = "evidencia"
            case at = "fecha"
        }
    }

    let id: Int64
    /// The id asked for (another when it had been merged into this one).
    let requested: Int64
    @Nullable var name: String?
    @Nullable var email: String?
    let language: String
    let createdAt: Date
    let identities: [Identity]
    let tickets: [TicketJSON]
    let merges: [Merge]

    enum CodingKeys: String, CodingKey {
        case id
        case requested = "solicitado"
        case name = "nombre"
        case email
        case language = "idioma"
        case createdAt = "created_at"
        case identities = "identidades"
        case tickets
        case merges = "fusiones"
    }
}
