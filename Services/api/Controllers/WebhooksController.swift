import Crypto
import Foundation
import Hummingbird

/// `/api/webhooks`: admins register the URLs that receive our domain events (`OutboundWebhooks` delivers them).
/// The secret that signs the deliveries is shown once, when it is set; lists show its last four characters only.
struct WebhooksController {
    let webhooks: Webhooks
    let bindings: WebhookBindings
    let address: WebhookAddress
    let audit: AuditStore

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/webhooks", use: list)
        group.post("api/webhooks", use: create)
        group.get("api/webhooks/:webhook", use: show)
        group.patch("api/webhooks/:webhook", use: update)
        group.put("api/webhooks/:webhook", use: update)
        group.delete("api/webhooks/:webhook", use: delete)
        group.get("api/webhooks/:webhook/deliveries", use: deliveries)
    }

    struct Body: Decodable {
        let url: String?
        let events: [String]?
        let secret: String?
        let description: String?
        let active: Bool?
    }

    static let what = "gestionar webhooks"

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> [WebhookJSON] {
        _ = try context.requireAdmin(to: Self.what)
        return try await webhooks.all().map { WebhookJSON($0) }
    }

    @Sendable func show(_ request: Request, context: APIRequestContext) async throws -> WebhookJSON {
        _ = try context.requireAdmin(to: Self.what)
        return WebhookJSON(try await find(context))
    }

    @Sendable func create(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<WebhookJSON> {
        let admin = try context.requireAdmin(to: Self.what)
        let body = try await request.decodeJSON(Body.self)
        guard let url = body.url else { throw APIError.badRequest("Falta 'url'") }
        guard let events = body.events else {
            throw APIError.badRequest("Falta 'events' (por ejemplo [\"ticket.created\", \"message.created\"])")
        }
        let draft = Webhooks.Draft(
            url: try checked(url), events: try Self.events(events),
            secret: try body.secret.map(Self.secret) ?? Self.newSecret(),
            description: try body.description.map(Self.description) ?? nil, isActive: body.active ?? true)
        guard try await webhooks.count() < Webhooks.limit else {
            throw APIError(status: .conflict, detail: "Se alcanzó el máximo de \(Webhooks.limit) webhooks")
        }
        let created = try await webhooks.create(draft)
        await bindings.sync()
        try await audit.record(
            AuditEntry(
                "webhook.create", by: admin, target: ("webhook", String(created.id)), details: Self.described(created)))
        return EditedResponse(status: .created, response: WebhookJSON(created, showingSecret: true))
    }

    @Sendable func update(_ request: Request, context: APIRequestContext) async throws -> WebhookJSON {
        let admin = try context.requireAdmin(to: Self.what)
        let id = try Self.id(context)
        let body = try await request.decodeJSON(Body.self)
        guard
            body.url != nil || body.events != nil || body.secret != nil || body.description != nil
                || body.active != nil
        else { throw APIError.badRequest("Indique 'url', 'events', 'secret', 'description' o 'active'") }
        let changes = Webhooks.Changes(
            url: try body.url.map(checked), events: try body.events.map(Self.events),
            secret: try body.secret.map(Self.secret), description: try body.description.map(Self.description),
            isActive: body.active)
        let updated: Webhook
        do {
            updated = try await webhooks.update(id, changes)
        } catch Webhooks.Problem.notFound {
            throw APIError.notFound("Webhook no encontrado")
        }
        await bindings.sync()
        var details = Self.described(updated)
        if changes.secret != nil { details["secreto"] = "cambiado" }
        try await audit.record(
            AuditEntry("webhook.update", by: admin, target: ("webhook", String(id)), details: details))
        return WebhookJSON(updated, showingSecret: changes.secret != nil)
    }

    @Sendable func delete(_ request: Request, context: APIRequestContext) async throws -> Response {
        let admin = try context.requireAdmin(to: Self.what)
        let webhook = try await find(context)
        do {
            try await webhooks.delete(webhook.id)
        } catch Webhooks.Problem.notFound {
            throw APIError.notFound("Webhook no encontrado")
        }
        await bindings.sync()
        try await audit.record(
            AuditEntry(
                "webhook.delete", by: admin, target: ("webhook", String(webhook.id)), details: Self.described(webhook)))
        return Response(status: .noContent)
    }

    @Sendable func deliveries(_ request: Request, context: APIRequestContext) async throws -> [WebhookDeliveryJSON] {
        _ = try context.requireAdmin(to: Self.what)
        let webhook = try await find(context)
        return try await webhooks.deliveries(to: webhook.id).map(WebhookDeliveryJSON.init)
    }

    // MARK: Input

    func find(_ context: APIRequestContext) async throws -> Webhook {
        guard let webhook = try await webhooks.find(try Self.id(context)) else {
            throw APIError.notFound("Webhook no encontrado")
        }
        return webhook
    }

    func checked(_ url: String) throws -> String {
        do {
            return try address.check(url).absoluteString
        } catch {
            throw APIError.badRequest(error.reason)
        }
    }

    static func id(_ context: APIRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("webhook"), let id = Int64(text), id > 0 else {
            throw APIError.notFound("Webhook no encontrado")
        }
        return id
    }

    /// Known event types, each once, in the order of `Webhook.eventTypes`; `*` is all of them.
    static func events(_ names: [String]) throws -> [String] {
        guard !names.isEmpty else { throw APIError.badRequest("'events' no puede estar vacío") }
        guard names.count <= 50 else { throw APIError.badRequest("'events' admite hasta 50 nombres") }
        if names == ["*"] { return Webhook.eventTypes }
        let unknown = names.filter { !Webhook.eventTypes.contains($0) }
        guard unknown.isEmpty else {
            throw APIError.badRequest(
                "Eventos desconocidos: \(unknown.prefix(5).map { "'\($0.prefix(40))'" }.joined(separator: ", ")). "
                    + "Se admiten: \(Webhook.eventTypes.joined(separator: ", ")) o [\"*\"]")
        }
        return Webhook.eventTypes.filter(names.contains)
    }

    static func secret(_ text: String) throws -> String {
        guard (16...200).contains(text.count), text.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline })
        else {
            throw APIError.badRequest("'secret' debe tener entre 16 y 200 caracteres ASCII sin espacios")
        }
        return text
    }

    static func description(_ text: String) throws -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= 200 else { throw APIError.badRequest("'description' excede 200 caracteres") }
        return trimmed.isEmpty ? nil : trimmed
    }

    /// 32 random bytes in hex.
    static func newSecret() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { bytes in
            bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
                .joined()
        }
    }

    /// For the audit log: where (the host only: a URL's path or query may carry a receiver's own token) and what.
    static func described(_ webhook: Webhook) -> [String: String] {
        [
            "servidor": URL(string: webhook.url)?.host ?? "", "eventos": webhook.events.joined(separator: ","),
            "activo": String(webhook.isActive),
        ]
    }
}

struct WebhookJSON: ResponseEncodable, Sendable {
    let id: Int64
    let url: String
    let events: [String]
    @Nullable var description: String?
    let active: Bool
    /// Only when it was just set (created, or changed with `secret`); otherwise `secret_hint` alone.
    @Nullable var secret: String?
    let secretHint: String
    let createdAt: Date
    @Nullable var lastAttemptAt: Date?
    @Nullable var lastStatus: Int?
    @Nullable var lastError: String?
    @Nullable var lastSuccessAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, url, events, description, active, secret
        case secretHint = "secret_hint"
        case createdAt = "created_at"
        case lastAttemptAt = "last_attempt_at"
        case lastStatus = "last_status"
        case lastError = "last_error"
        case lastSuccessAt = "last_success_at"
    }

    init(_ webhook: Webhook, showingSecret: Bool = false) {
        id = webhook.id
        url = webhook.url
        events = webhook.events
        description = webhook.description
        active = webhook.isActive
        secret = showingSecret ? webhook.secret : nil
        secretHint = "…" + webhook.secret.suffix(4)
        createdAt = webhook.createdAt
        lastAttemptAt = webhook.lastAttemptAt
        lastStatus = webhook.lastStatus
        lastError = webhook.lastError
        lastSuccessAt = webhook.lastSuccessAt
    }
}

struct WebhookDeliveryJSON: ResponseEncodable, Sendable {
    let eventID: String
    let event: String
    let attempts: Int
    @Nullable var status: Int?
    @Nullable var error: String?
    let delivered: Bool
    @Nullable var deliveredAt: Date?
    let updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case event, attempts, status, error, delivered
        case eventID = "event_id"
        case deliveredAt = "delivered_at"
        case updatedAt = "updated_at"
    }

    init(_ delivery: WebhookDelivery) {
        eventID = delivery.eventID
        event = delivery.eventType
        attempts = delivery.attempts
        status = delivery.lastStatus
        error = delivery.lastError
        delivered = delivery.deliveredAt != nil
        deliveredAt = delivery.deliveredAt
        updatedAt = delivery.updatedAt
    }
}
