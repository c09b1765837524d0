import Foundation
import MostradorContracts
import MostradorSQL
import MostradorStorage

/// An admin's outbound webhook: the events it wants, where they go, the secret that signs them.
struct Webhook: Sendable, Equatable {
    let id: Int64
    var url: String
    var events: [String]
    var secret: String
    var description: String?
    var isActive: Bool
    let createdAt: Date
    var lastAttemptAt: Date?
    var lastStatus: Int?
    var lastError: String?
    var lastSuccessAt: Date?

    /// The event types a webhook may subscribe to: the domain events of our contracts (design.md), named as there.
    /// The events a webhook may subscribe to, each handled by ``OutboundWebhooks/router()``.
    static let events: [any MessageContract.Type] = [
        TicketCreated.self, TicketDescriptionUpdated.self, TicketClassified.self, MessageCreated.self,
        DeliveryUpdated.self, TicketStatusChanged.self, TicketAssigned.self, ChatTransferred.self,
        ChatParticipantChanged.self,
    ]
    static let eventTypes: [String] = events.map { $0.type }

    init(row: Row) {
        id = row["id"]
        url = row["url"]
        events = (row["events"] as String).split(separator: ",").map(String.init)
        secret = row["secret"]
        description = row["description"]
        isActive = row["active"]
        createdAt = row["created_at"]
        lastAttemptAt = row["last_attempt_at"]
        lastStatus = row["last_status"]
        lastError = row["last_error"]
        lastSuccessAt = row["last_success_at"]
    }
}

/// One event's delivery to one webhook.
struct WebhookDelivery: Sendable, Equatable {
    let eventID: String
    let eventType: String
    let attempts: Int
    let lastStatus: Int?
    let lastError: String?
    let deliveredAt: Date?
    let updatedAt: Date
}

/// The webhooks and what became of each delivery.
struct Webhooks: Sendable {
    let committer: SQLCommitter
    var reader: SQLDatabase { committer.writer }

    enum Problem: Error, Equatable {
        case notFound
    }

    /// At most this many webhooks (each event is sent to every subscriber in turn).
    static let limit = 50
    /// Deliveries older than this are forgotten when new ones are recorded.
    static let deliveryHistory: TimeInterval = 7 * 86_400

    struct Draft: Sendable {
        var url: String
        var events: [String]
        var secret: String
        var description: String?
        var isActive: Bool
    }

    struct Changes: Sendable {
        var url: String?
        var events: [String]?
        var secret: String?
        var description: String??
        var isActive: Bool?
    }

    func all() async throws -> [Webhook] {
        try await reader.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhooks ORDER BY id").map(Webhook.init)
        }
    }

    func find(_ id: Int64) async throws -> Webhook? {
        try await reader.read { db in try Self.find(id, db: db) }
    }

    func create(_ draft: Draft) async throws -> Webhook {
        try await committer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhooks (url, events, secret, description, active, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    draft.url, draft.events.joined(separator: ","), draft.secret, draft.description, draft.isActive,
                    Date(),
                ])
            return try Self.find(db.lastInsertedRowID, db: db)!
        }
    }

    func count() async throws -> Int {
        try await reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhooks") ?? 0 }
    }

    func update(_ id: Int64, _ changes: Changes) async throws -> Webhook {
        try await committer.write { db in
            guard var webhook = try Self.find(id, db: db) else { throw Problem.notFound }
            if let url = changes.url { webhook.url = url }
            if let events = changes.events { webhook.events = events }
            if let secret = changes.secret { webhook.secret = secret }
            if let description = changes.description { webhook.description = description }
            if let active = changes.isActive { webhook.isActive = active }
            try db.execute(
                sql: "UPDATE webhooks SET url = ?, events = ?, secret = ?, description = ?, active = ? WHERE id = ?",
                arguments: [
                    webhook.url, webhook.events.joined(separator: ","), webhook.secret, webhook.description,
                    webhook.isActive, id,
                ])
            return webhook
        }
    }

    func delete(_ id: Int64) async throws {
        try await committer.write { db in
            try db.execute(sql: "DELETE FROM webhooks WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { throw Problem.notFound }
        }
    }

    /// The event types some active webhook wants.
    func subscribedTypes() async throws -> Set<String> {
        Set(try await all().filter(\.isActive).flatMap(\.events))
    }

    /// The active webhooks that want `type` and existed when the event happened (a webhook created later does not
    /// get older events, even when one comes back for a retry). AMQP timestamps count whole seconds: an event
    /// stamped `date` happened before `date + 1 s`.
    func subscribers(to type: String, at date: Date) async throws -> [Webhook] {
        let happenedBefore = date.addingTimeInterval(1)
        return try await all().filter { $0.isActive && $0.events.contains(type) && $0.createdAt < happenedBefore }
    }

    /// This event's delivery to this webhook, if one was tried.
    func delivery(of eventID: String, to webhookID: Int64) async throws -> WebhookDelivery? {
        try await reader.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ?",
                arguments: [webhookID, eventID]
            ).map(Self.delivery)
        }
    }

    /// Records one attempt (`status` nil when no HTTP answer came) and returns how many were made.
    @discardableResult
    func record(
        eventID: String, type: String, to webhookID: Int64, status: Int?, error: String?, delivered: Bool
    ) async throws -> Int {
        try await committer.write { db in
            let now = Date()
            let error = error.map { String($0.prefix(300)) }
            try db.execute(
                sql: """
                    INSERT INTO webhook_deliveries
                        (webhook_id, event_id, event_type, attempts, last_status, last_error, delivered_at, updated_at)
                    VALUES (?, ?, ?, 1, ?, ?, ?, ?)
                    ON CONFLICT (webhook_id, event_id) DO UPDATE SET
                        attempts = webhook_deliveries.attempts + 1, last_status = excluded.last_status,
                        last_error = excluded.last_error, delivered_at = excluded.delivered_at,
                        updated_at = excluded.updated_at
                    """,
                arguments: [webhookID, eventID, type, status, error, delivered ? now : nil, now])
            try db.execute(
                sql: """
                    UPDATE webhooks SET last_attempt_at = ?, last_status = ?, last_error = ?,
                        last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END
                    WHERE id = ?
                    """,
                arguments: [now, status, error, delivered, now, webhookID])
            try db.execute(
                sql: "DELETE FROM webhook_deliveries WHERE webhook_id = ? AND updated_at < ?",
                arguments: [webhookID, now.addingTimeInterval(-Self.deliveryHistory)])
            return try Int.fetchOne(
                db, sql: "SELECT attempts FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ?",
                arguments: [webhookID, eventID]) ?? 1
        }
    }

    /// The latest deliveries to a webhook, newest first.
    func deliveries(to webhookID: Int64, limit: Int = 50) async throws -> [WebhookDelivery] {
        try await reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY updated_at DESC LIMIT ?
                    """,
                arguments: [webhookID, limit]
            ).map(Self.delivery)
        }
    }

    static func find(_ id: Int64, db: Database) throws -> Webhook? {
        try Row.fetchOne(db, sql: "SELECT * FROM webhooks WHERE id = ?", arguments: [id]).map(Webhook.init)
    }

    static func delivery(_ row: Row) -> WebhookDelivery {
        WebhookDelivery(
            eventID: row["event_id"], eventType: row["event_type"], attempts: row["attempts"],
            lastStatus: row["last_status"], lastError: row["last_error"], deliveredAt: row["delivered_at"],
            updatedAt: row["updated_at"])
    }
}
