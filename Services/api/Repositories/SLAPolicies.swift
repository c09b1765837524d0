import Foundation
import Logging
import MostradorSQL
import MostradorStorage
import ServiceLifecycle

/// A service-level target: how long a ticket may wait for its first technician reply and for being resolved. A
/// policy applies to a category (Hardware/Software), a label, both, or every ticket; the most specific one that
/// matches wins (label and category, then label, then category, then the general one; the oldest among equals).
struct SLAPolicy: Sendable, Equatable {
    let id: Int64
    var name: String
    /// nil: any category.
    var category: String?
    /// nil: any label.
    var labelID: Int64?
    var labelName: String?
    var firstResponseMinutes: Int?
    var resolutionMinutes: Int?

    init(row: Row) {
        id = row["id"]
        name = row["name"]
        category = row["category"]
        labelID = row["label_id"]
        labelName = row["label_name"]
        firstResponseMinutes = row["first_response_minutes"]
        resolutionMinutes = row["resolution_minutes"]
    }

    /// How specific the policy is (higher wins).
    var specificity: Int { (labelID != nil ? 2 : 0) + (category != nil ? 1 : 0) }

    func applies(category ticketCategory: String, labels: Set<Int64>) -> Bool {
        (category == nil || category == ticketCategory) && (labelID.map(labels.contains) ?? true)
    }
}

/// Where a ticket stands against its policy.
struct SLAStatus: Sendable, Equatable {
    struct Target: Sendable, Equatable {
        let dueAt: Date
        /// When it was met (the first technician reply, the resolution); nil while pending.
        let metAt: Date?

        /// Missed: met late, or still pending after its time.
        func breached(at now: Date) -> Bool { metAt.map { $0 > dueAt } ?? (now > dueAt) }
    }

    let policy: SLAPolicy
    let firstResponse: Target?
    let resolution: Target?
}

struct SLAPolicies: Sendable {
    let committer: SQLCommitter
    var reader: SQLDatabase { committer.writer }

    enum Problem: Error, Equatable {
        case notFound
        case duplicate(String)
        case unknownLabel(String)
    }

    struct Draft: Sendable {
        var name: String
        var category: String?
        var label: String?
        var firstResponseMinutes: Int?
        var resolutionMinutes: Int?
    }

    static let select = """
        SELECT p.*, l.name AS label_name FROM sla_policies p LEFT JOIN labels l ON l.id = p.label_id
        """

    static func all(db: Database) throws -> [SLAPolicy] {
        try Row.fetchAll(db, sql: "\(select) ORDER BY p.id").map(SLAPolicy.init(row:))
    }

    func all() async throws -> [SLAPolicy] {
        try await reader.read { db in try Self.all(db: db) }
    }

    func create(_ draft: Draft) async throws -> SLAPolicy {
        try await committer.write { db in
            try Self.checkName(draft.name, except: nil, db: db)
            try db.execute(
                sql: """
                    INSERT INTO sla_policies (name, category, label_id, first_response_minutes, resolution_minutes,
                                              created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    draft.name, draft.category, try Self.labelID(draft.label, db: db), draft.firstResponseMinutes,
                    draft.resolutionMinutes, Date(),
                ])
            return try Self.find(db.lastInsertedRowID, db: db)!
        }
    }

    func update(_ id: Int64, _ draft: Draft) async throws -> SLAPolicy {
        try await committer.write { db in
            guard try Self.find(id, db: db) != nil else { throw Problem.notFound }
            try Self.checkName(draft.name, except: id, db: db)
            try db.execute(
                sql: """
                    UPDATE sla_policies SET name = ?, category = ?, label_id = ?, first_response_minutes = ?,
                        resolution_minutes = ?
                    WHERE id = ?
                    """,
                arguments: [
                    draft.name, draft.category, try Self.labelID(draft.label, db: db), draft.firstResponseMinutes,
                    draft.resolutionMinutes, id,
                ])
            return try Self.find(id, db: db)!
        }
    }

    func delete(_ id: Int64) async throws {
        try await committer.write { db in
            try db.execute(sql: "DELETE FROM sla_policies WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { throw Problem.notFound }
        }
    }

    static func find(_ id: Int64, db: Database) throws -> SLAPolicy? {
        try Row.fetchOne(db, sql: "\(select) WHERE p.id = ?", arguments: [id]).map(SLAPolicy.init(row:))
    }

    static func checkName(_ name: String, except id: Int64?, db: Database) throws {
        if try Int64.fetchOne(
            db, sql: "SELECT id FROM sla_policies WHERE name = ? COLLATE NOCASE AND id IS DISTINCT FROM ?",
            arguments: [name, id])
            != nil
        {
            throw Problem.duplicate(name)
        }
    }

    static func labelID(_ name: String?, db: Database) throws -> Int64? {
        guard let name else { return nil }
        guard
            let id = try Int64.fetchOne(
                db, sql: "SELECT id FROM labels WHERE name = ? COLLATE NOCASE", arguments: [name])
        else { throw Problem.unknownLabel(name) }
        return id
    }

    // MARK: Tickets

    /// The policy that applies to a ticket, and its targets.
    static func status(ticketID: Int64, policies: [SLAPolicy], db: Database) throws -> SLAStatus? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT category, created_at, first_response_at, resolved_at, closed_at FROM tickets WHERE id = ?
                    """, arguments: [ticketID])
        else { return nil }
        let labels = Set(
            try Int64.fetchAll(db, sql: "SELECT label_id FROM ticket_labels WHERE ticket_id = ?", arguments: [ticketID])
        )
        let candidates = policies.filter { $0.applies(category: row["category"], labels: labels) }
        guard let policy = candidates.max(by: { ($0.specificity, -$0.id) < ($1.specificity, -$1.id) }) else {
            return nil
        }
        let created: Date = row["created_at"]
        let resolvedAt: Date? = row["resolved_at"] ?? row["closed_at"]
        return SLAStatus(
            policy: policy,
            firstResponse: policy.firstResponseMinutes.map {
                SLAStatus.Target(dueAt: created.addingTimeInterval(Double($0) * 60), metAt: row["first_response_at"])
            },
            resolution: policy.resolutionMinutes.map {
                SLAStatus.Target(dueAt: created.addingTimeInterval(Double($0) * 60), metAt: resolvedAt)
            })
    }

    func status(ticketID: Int64) async throws -> SLAStatus? {
        try await reader.read { db in try Self.status(ticketID: ticketID, policies: try Self.all(db: db), db: db) }
    }

    /// A target missed and the people told about it.
    struct Breach: Sendable, Equatable {
        let ticketID: Int64
        let kind: String
        let notified: [Int64]
    }

    /// Finds the targets of open tickets that have just been missed, records each once (several api instances may
    /// look at the same time) and notifies the ticket's agent, or every active admin when nobody has it.
    func recordBreaches(now: Date) async throws -> [Breach] {
        try await committer.write { db in
            let policies = try Self.all(db: db)
            guard !policies.isEmpty else { return [] }
            let open = try Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM tickets t WHERE status NOT IN ('resolved', 'closed')
                      AND (SELECT COUNT(*) FROM sla_breaches b WHERE b.ticket_id = t.id) < 2
                    ORDER BY id
                    """)
            var breaches: [Breach] = []
            for ticketID in open {
                guard let status = try Self.status(ticketID: ticketID, policies: policies, db: db) else { continue }
                for (kind, target) in [("first_response", status.firstResponse), ("resolution", status.resolution)] {
                    guard let target, target.metAt == nil, now > target.dueAt else { continue }
                    try db.execute(
                        sql: """
                            INSERT INTO sla_breaches (ticket_id, kind, due_at, recorded_at)
                            VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
                            """, arguments: [ticketID, kind, target.dueAt, now])
                    guard db.changesCount == 1 else { continue }
                    breaches.append(
                        Breach(
                            ticketID: ticketID, kind: kind,
                            notified: try Self.notify(ticketID: ticketID, kind: kind, policy: status.policy, db: db)))
                }
            }
            return breaches
        }
    }

    static func notify(ticketID: Int64, kind: String, policy: SLAPolicy, db: Database) throws -> [Int64] {
        let assigned =
            try Int64.fetchOne(
                db, sql: "SELECT assigned_agent_id FROM tickets WHERE id = ?", arguments: [ticketID]) ?? nil
        let recipients =
            try assigned.map { [$0] }
            ?? Int64.fetchAll(db, sql: "SELECT id FROM agents WHERE role = 'admin' AND is_active ORDER BY id")
        let what = kind == "first_response" ? "la primera respuesta" : "la resolución"
        for agentID in recipients {
            try db.execute(
                sql: """
                    INSERT INTO notifications (uuid, recipient, agent_id, ticket_id, kind, title, message, created_at)
                    VALUES (?, 'agent', ?, ?, 'sla_incumplido', ?, ?, ?)
                    """,
                arguments: [
                    UUID().uuidString.lowercased(), agentID, ticketID,
                    "Ticket #\(ticketID): venció el plazo de \(what)",
                    "Política «\(policy.name)»", Date(),
                ])
        }
        return recipients
    }

    /// Breaches recorded since `date`, by kind.
    func breaches(since date: Date) async throws -> [String: Int] {
        try await reader.read { db in
            var counts = ["first_response": 0, "resolution": 0]
            for row in try Row.fetchAll(
                db, sql: "SELECT kind, COUNT(*) AS n FROM sla_breaches WHERE due_at >= ? GROUP BY kind",
                arguments: [date])
            {
                counts[row["kind"]] = row["n"]
            }
            return counts
        }
    }
}

/// Looks for missed SLA targets every `interval` (`MOSTRADOR_SLA_CHECK_SECONDS`, 30) and announces each once: a
/// notification to the ticket's agent (or the admins) and a live nudge to the panel.
struct SLAWatcher: Service {
    let policies: SLAPolicies
    let live: any LivePublisher
    let clock: WallClock
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    for breach in try await policies.recordBreaches(now: clock.now()) {
                        live.changed(breach.ticketID)
                        logger.notice(
                            "SLA target missed",
                            metadata: ["ticket": "\(breach.ticketID)", "kind": "\(breach.kind)"])
                    }
                } catch {
                    logger.warning("SLA check failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
