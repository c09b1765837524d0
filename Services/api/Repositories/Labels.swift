import Foundation
import MostradorSQL
import MostradorStorage

/// A label admins define and agents put on tickets (besides the classifier's Hardware/Software category).
struct TicketLabel: Sendable, Equatable, Codable {
    let id: Int64
    let name: String
    let color: String
}

/// Labels and which tickets carry them.
struct Labels: Sendable {
    let committer: SQLCommitter
    var reader: SQLDatabase { committer.writer }

    enum Problem: Error, Equatable {
        case duplicate(String)
        case notFound
        case unknown([String])
    }

    /// At most this many labels on one ticket.
    static let perTicket = 20

    /// Every label with how many tickets carry it, by name.
    func all() async throws -> [(label: TicketLabel, tickets: Int)] {
        try await reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.*, (SELECT COUNT(*) FROM ticket_labels tl WHERE tl.label_id = l.id) AS tickets
                    FROM labels l ORDER BY l.name COLLATE NOCASE
                    """
            ).map { (Self.label($0), $0["tickets"]) }
        }
    }

    func create(name: String, color: String) async throws -> TicketLabel {
        try await committer.write { db in
            guard try Self.find(name: name, db: db) == nil else { throw Problem.duplicate(name) }
            try db.execute(
                sql: "INSERT INTO labels (name, color, created_at) VALUES (?, ?, ?)", arguments: [name, color, Date()])
            return TicketLabel(id: db.lastInsertedRowID, name: name, color: color)
        }
    }

    func update(_ id: Int64, name: String?, color: String?) async throws -> TicketLabel {
        try await committer.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM labels WHERE id = ?", arguments: [id]) != nil else {
                throw Problem.notFound
            }
            if let name, let other = try Self.find(name: name, db: db), other.id != id {
                throw Problem.duplicate(name)
            }
            try db.execute(
                sql: "UPDATE labels SET name = COALESCE(?, name), color = COALESCE(?, color) WHERE id = ?",
                arguments: [name, color, id])
            return Self.label(try Row.fetchOne(db, sql: "SELECT * FROM labels WHERE id = ?", arguments: [id])!)
        }
    }

    /// Deletes a label; the tickets that carried it lose it.
    func delete(_ id: Int64) async throws {
        try await committer.write { db in
            try db.execute(sql: "DELETE FROM labels WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { throw Problem.notFound }
        }
    }

    /// Replaces the ticket's labels with those named (case-insensitive); unknown names refuse the whole change.
    func set(_ names: [String], on ticketID: Int64, by agentID: Int64) async throws -> [TicketLabel] {
        try await committer.write { db in
            var chosen: [TicketLabel] = []
            var unknown: [String] = []
            for name in names {
                if let label = try Self.find(name: name, db: db) {
                    if !chosen.contains(label) { chosen.append(label) }
                } else {
                    unknown.append(name)
                }
            }
            guard unknown.isEmpty else { throw Problem.unknown(unknown) }
            try db.execute(sql: "DELETE FROM ticket_labels WHERE ticket_id = ?", arguments: [ticketID])
            let now = Date()
            for label in chosen {
                try db.execute(
                    sql: "INSERT INTO ticket_labels (ticket_id, label_id, added_by, added_at) VALUES (?, ?, ?, ?)",
                    arguments: [ticketID, label.id, agentID, now])
            }
            try db.execute(sql: "UPDATE tickets SET updated_at = ? WHERE id = ?", arguments: [now, ticketID])
            return chosen.sorted { $0.name.localizedCaseInsensitiveCompare($1.name) == .orderedAscending }
        }
    }

    static func find(name: String, db: Database) throws -> TicketLabel? {
        try Row.fetchOne(db, sql: "SELECT * FROM labels WHERE name = ? COLLATE NOCASE", arguments: [name]).map(label)
    }

    static func label(_ row: Row) -> TicketLabel { TicketLabel(id: row["id"], name: row["name"], color: row["color"]) }

    /// A ticket summary's column: its labels as a JSON array (`TicketSummary.labels`), by name.
    static let summaryColumn = """
        (SELECT json_group_array(json_object('id', x.id, 'name', x.name, 'color', x.color)) FROM
           (SELECT l.id, l.name, l.color FROM ticket_labels tl JOIN labels l ON l.id = tl.label_id
            WHERE tl.ticket_id = t.id ORDER BY l.name COLLATE NOCASE) x) AS labels_json
        """

    static func decode(_ json: String?) -> [TicketLabel] {
        guard let json else { return [] }
        return (try? JSONDecoder().decode([TicketLabel].self, from: Data(json.utf8))) ?? []
    }
}
