import Foundation
import MostradorContracts
import MostradorSQL

/// Persists the intake inside the webhook's transaction: reads the state from the ticket, stores what the bot decided
/// and queues its replies like any other outbound message.
enum IntakeStep {
    static func next(
        _ input: IntakeBot.Input, ticketID: Int64, db: Database, read: IntakeBot.Reader = IntakeBot.localReader
    ) throws -> IntakeBot.Reaction? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT t.intake_state, t.description, t.equipment, t.asset_tag, t.location, t.language, c.name
                        FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = ?
                        """),
                arguments: [ticketID]),
            let state = running(row["intake_state"])
        else { return nil }
        let context = IntakeBot.Context(
            ticketID: ticketID, customerName: row["name"], description: row["description"],
            equipment: row["equipment"], asset: row["asset_tag"], location: row["location"],
            language: row["language"])
        return IntakeBot.next(input, state: state, context: context, read: read)
    }

    /// Whether the intake reads a message from `sender` now: a new customer or one without an open WhatsApp
    /// ticket (a ticket opens and the intake starts), or one whose open ticket's intake is still going on.
    static func reads(from sender: SenderAddress, db: Database) throws -> Bool {
        guard let customerID = try Customers.owner(of: sender, db: db),
            let open = try Tickets.openWhatsApp(customerID: customerID, db: db)
        else { return true }
        return running(
            try String.fetchOne(db, sql: "SELECT intake_state FROM tickets WHERE id = ?", arguments: [open.id])) != nil
    }

    /// A ticket's stored intake state, when the intake is still going on (nil: none, unreadable or over).
    static func running(_ stored: String?) -> IntakeBot.State? {
        guard let stored, let state = try? JSONDecoder().decode(IntakeBot.State.self, from: Data(stored.utf8)),
            !state.step.isOver
        else { return nil }
        return state
    }

    static func apply(_ reaction: IntakeBot.Reaction, ticketID: Int64, customerID: Int64, db: Database) throws {
        let state = String(decoding: try JSONEncoder().encode(reaction.state), as: UTF8.self)
        try db.execute(sql: "UPDATE tickets SET intake_state = ? WHERE id = ?", arguments: [state, ticketID])
        if let name = reaction.customerName {
            try Customers.rename(customerID, to: name, db: db)
        }
        let before = try Row.fetchOne(
            db, sql: "SELECT description, equipment, language FROM tickets WHERE id = ?", arguments: [ticketID])
        if let equipment = reaction.equipment {
            try db.execute(sql: "UPDATE tickets SET equipment = ? WHERE id = ?", arguments: [equipment, ticketID])
        } else if reaction.clearEquipment {
            try db.execute(sql: "UPDATE tickets SET equipment = NULL WHERE id = ?", arguments: [ticketID])
        }
        if let asset = reaction.asset {
            try db.execute(sql: "UPDATE tickets SET asset_tag = ? WHERE id = ?", arguments: [asset, ticketID])
        }
        if let location = reaction.location {
            try db.execute(sql: "UPDATE tickets SET location = ? WHERE id = ?", arguments: [location, ticketID])
        }
        // A new description, or a device named for the one there is, is classified again.
        let description = reaction.description ?? before?["description"]
        let equipment = reaction.clearEquipment ? nil : reaction.equipment ?? before?["equipment"]
        if let description,
            description != before?["description"] || equipment != before?["equipment"] as String?
        {
            if description != before?["description"] {
                try db.execute(
                    sql: "UPDATE tickets SET description = ? WHERE id = ?", arguments: [description, ticketID])
            }
            try Outbox.add(
                TicketDescriptionUpdated(
                    ticketID: ticketID, description: description, language: before?["language"] ?? "es",
                    equipment: equipment),
                in: db)
        }
        guard !reaction.replies.isEmpty, let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { return }
        for reply in reaction.replies {
            _ = try Conversations.queueOutbound(NewMessage(role: .assistant, content: reply), on: ticket, db: db)
        }
    }
}
