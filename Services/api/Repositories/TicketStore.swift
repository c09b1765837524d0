import Foundation
import GRDB
import MostradorContracts
import MostradorServiceKit
import MostradorStorage

/// Tickets, customers and their messages. Every change that has events writes them to the outbox in its own
/// transaction and wakes the outbox publisher.
struct TicketStore: Sendable {
    let committer: GroupCommitter
    let outboxWakeup: Wakeup
    /// Whether the assistant runs the intake of new WhatsApp tickets.
    var intake = true
    /// Live clients hear about every change.
    var live: LiveSignal?
    var reader: DatabasePool { committer.writer }

    /// A message the WhatsApp bridge delivered to the webhook.
    struct Inbound: Sendable {
        var sender: SenderAddress
        var content: String
        var name: String?
        var externalID: String?
        var externalTimestamp: Date?
        /// Photo evidence already written to the attachment store; `content` is then its caption.
        var attachment: StoredAttachment?
    }

    struct IngestResult: Sendable, Equatable {
        let ticketID: Int64
        let messageID: Int64
        let ticketCreated: Bool
        /// The bridge had delivered this `id_mensaje` before: nothing new was stored.
        let duplicate: Bool
    }

    /// Stores an inbound message on the customer's open ticket (opening one when there is none, reopening a
    /// resolved one), with its events, in one transaction.
    func ingest(_ inbound: Inbound) async throws -> IngestResult {
        let intake = intake
        let result = try await committer.write { db in try Self.ingest(inbound, intake: intake, db: db) }
        if !result.duplicate {
            outboxWakeup.signal()
            live?.changed(result.ticketID)
        }
        return result
    }

    static func ingest(_ inbound: Inbound, intake: Bool, db: Database) throws -> IngestResult {
        let now = Date()
        if let externalID = inbound.externalID,
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, ticket_id FROM messages WHERE external_id = ?"),
                arguments: [externalID])
        {
            return IngestResult(ticketID: row["ticket_id"], messageID: row["id"], ticketCreated: false, duplicate: true)
        }
        let customerID = try customer(for: inbound.sender, name: inbound.name, now: now, db: db)
        var ticket = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, uuid, status, assigned_agent_id FROM tickets
                    WHERE customer_id = ? AND channel = 'whatsapp' AND status != 'closed'
                    ORDER BY id DESC LIMIT 1
                    """),
            arguments: [customerID]
        ).map {
            (
                id: $0["id"] as Int64, created: false, status: $0["status"] as String,
                agent: $0["assigned_agent_id"] as Int64?
            )
        }
        let customerName = try String.fetchOne(
            db.cachedStatement(sql: "SELECT name FROM customers WHERE id = ?"), arguments: [customerID])
        var reaction: IntakeBot.Reaction?
        if ticket == nil {
            let uuid = UUID()
            let language = IntakeBot.language(of: inbound.content)
            try db.cachedStatement(
                sql: """
                    INSERT INTO tickets (uuid, customer_id, channel, status, language, created_at, updated_at)
                    VALUES (?, ?, 'whatsapp', 'new', ?, ?, ?)
                    """
            ).execute(arguments: [uuid.uuidString.lowercased(), customerID, language, now, now])
            let id = db.lastInsertedRowID
            ticket = (id, true, "new", nil)
            let name = customerName
            let context = IntakeBot.Context(
                ticketID: id, customerName: name, description: nil, equipment: nil, language: language)
            // Without the assistant, the first message is the description.
            reaction = intake ? IntakeBot.start(inbound.intakeInput, context: context) : nil
            let description = intake ? reaction?.description : inbound.content
            if let description {
                try db.execute(sql: "UPDATE tickets SET description = ? WHERE id = ?", arguments: [description, id])
            }
            reaction?.description = nil
            try Outbox.add(
                TicketCreated(
                    ticketID: id, ticketUUID: uuid, channel: .whatsapp, customerID: customerID, customerName: name,
                    description: description, language: language, createdAt: now, recipient: inbound.sender.address,
                    intakeRunning: reaction.map { $0.state.step != .done && $0.state.step != .handedOff } ?? false
                ), in: db)
        } else if intake {
            reaction = try IntakeStep.next(inbound.intakeInput, ticketID: ticket!.id, db: db)
        }
        let ticketID = ticket!.id
        try db.cachedStatement(
            sql: """
                INSERT INTO messages (ticket_id, role, content, type, external_id, external_timestamp, created_at)
                VALUES (?, 'user', ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            ticketID, inbound.content, inbound.attachment?.messageType ?? "text", inbound.externalID,
            inbound.externalTimestamp, now,
        ])
        let messageID = db.lastInsertedRowID
        if let attachment = inbound.attachment {
            try AttachmentStore.link(
                attachment, ticketID: ticketID, messageID: messageID, caption: inbound.content, db: db)
        }
        let reopen = ticket!.status == "resolved"
        try db.cachedStatement(
            sql: """
                UPDATE tickets SET last_message_at = ?, updated_at = ?,
                    status = CASE WHEN status = 'resolved' THEN 'open' ELSE status END,
                    resolved_at = CASE WHEN status = 'resolved' THEN NULL ELSE resolved_at END
                WHERE id = ?
                """
        ).execute(arguments: [now, now, ticketID])
        try Outbox.add(
            MessageCreated(
                ticketID: ticketID, messageID: messageID, role: .user, channel: .whatsapp,
                preview: String(inbound.content.prefix(120)), createdAt: now, assignedAgentID: ticket!.agent,
                customerName: customerName
            ), in: db)
        if reopen {
            try Outbox.add(
                TicketStatusChanged(
                    ticketID: ticketID, from: "resolved", to: "open", at: now, channel: .whatsapp,
                    recipient: inbound.sender.address, customerName: customerName, assignedAgentID: ticket!.agent),
                in: db)
        }
        if let reaction {
            try IntakeStep.apply(reaction, ticketID: ticketID, customerID: customerID, db: db)
        }
        return IngestResult(ticketID: ticketID, messageID: messageID, ticketCreated: ticket!.created, duplicate: false)
    }

    /// The customer behind an address, created on first contact; remembers the newest address and name.
    static func customer(for sender: SenderAddress, name: String?, now: Date, db: Database) throws -> Int64 {
        if let row = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT id, customer_id, address FROM customer_identities WHERE kind = ? AND value = ?"),
            arguments: [sender.kind.rawValue, sender.value])
        {
            let customerID: Int64 = row["customer_id"]
            try db.cachedStatement(sql: "UPDATE customer_identities SET address = ?, last_seen_at = ? WHERE id = ?")
                .execute(arguments: [sender.address, now, row["id"] as Int64])
            if let name, !name.isEmpty {
                try db.cachedStatement(sql: "UPDATE customers SET name = ? WHERE id = ? AND name IS NULL")
                    .execute(arguments: [name, customerID])
            }
            return customerID
        }
        try db.cachedStatement(sql: "INSERT INTO customers (name, created_at) VALUES (?, ?)")
            .execute(arguments: [name.flatMap { $0.isEmpty ? nil : $0 }, now])
        let customerID = db.lastInsertedRowID
        try db.cachedStatement(
            sql: """
                INSERT INTO customer_identities (customer_id, kind, value, address, created_at, last_seen_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [customerID, sender.kind.rawValue, sender.value, sender.address, now, now])
        return customerID
    }
}
