import Foundation
import GRDB
import MostradorContracts

extension TicketStore {
    enum OutboundProblem: Error, Equatable {
        case ticketNotFound
        case ticketClosed
        case noWhatsAppAddress
    }

    struct Outbound: Sendable, Equatable {
        let ticketID: Int64
        let messageID: Int64
        let phone: String?
        let channel: String
        /// The same `client_id` was sent before: this is that message, not a new one.
        let repeated: Bool
    }

    /// Stores a technician's (or the system's) message and, for WhatsApp tickets, the `relay.send` command that
    /// delivers it — in one transaction. A `clientID` already used on this ticket returns the earlier message.
    func addOutbound(
        ticketID: Int64, text: String, role: MessageRole = .tecnico, agentID: Int64?,
        clientID: String?
    ) async throws -> Outbound {
        let outbound = try await committer.write { db in
            try Self.addOutbound(
                ticketID: ticketID, text: text, role: role, agentID: agentID, clientID: clientID, db: db)
        }
        if !outbound.repeated {
            outboxWakeup.signal()
            live?.changed(ticketID)
        }
        return outbound
    }

    static func addOutbound(
        ticketID: Int64, text: String, role: MessageRole, agentID: Int64?, clientID: String?,
        db: Database
    ) throws -> Outbound {
        guard
            let ticket = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT t.status, t.channel, t.customer_id, t.assigned_agent_id, c.name FROM tickets t
                        JOIN customers c ON c.id = t.customer_id WHERE t.id = ?
                        """),
                arguments: [ticketID])
        else { throw OutboundProblem.ticketNotFound }
        let channel: String = ticket["channel"]
        let address = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT address FROM customer_identities WHERE customer_id = ? AND kind IN ('phone', 'lid')
                    ORDER BY last_seen_at DESC LIMIT 1
                    """),
            arguments: [ticket["customer_id"] as Int64]
        ).map { $0["address"] as String }
        let phone = address.flatMap { try? SenderAddress($0).display }
        if let clientID,
            let existing = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM messages WHERE ticket_id = ? AND client_id = ?"),
                arguments: [ticketID, clientID])
        {
            return Outbound(ticketID: ticketID, messageID: existing, phone: phone, channel: channel, repeated: true)
        }
        guard ticket["status"] as String != "closed" else { throw OutboundProblem.ticketClosed }
        let viaWhatsApp = channel == Channel.whatsapp.rawValue
        guard !viaWhatsApp || address != nil else { throw OutboundProblem.noWhatsAppAddress }

        let now = Date()
        try db.cachedStatement(
            sql: """
                INSERT INTO messages (ticket_id, role, content, type, agent_id, client_id, delivery_status,
                                      delivery_updated_at, created_at)
                VALUES (?, ?, ?, 'text', ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [ticketID, role.rawValue, text, agentID, clientID, viaWhatsApp ? "queued" : nil, now, now])
        let messageID = db.lastInsertedRowID
        let humanReply = role == .tecnico
        try db.cachedStatement(
            sql: """
                UPDATE tickets SET updated_at = ?, last_message_at = ?,
                    first_response_at = CASE WHEN ? AND first_response_at IS NULL THEN ? ELSE first_response_at END,
                    status = CASE WHEN ? AND status = 'new' THEN 'open' ELSE status END,
                    intake_state = CASE WHEN ? AND intake_state IS NOT NULL
                        THEN json_set(intake_state, '$.step', 'done') ELSE intake_state END
                WHERE id = ?
                """
        ).execute(arguments: [now, now, humanReply, now, humanReply, humanReply, ticketID])
        if viaWhatsApp, let address {
            try Outbox.add(RelaySend(ticketID: ticketID, messageID: messageID, recipient: address, text: text), in: db)
        }
        try Outbox.add(
            MessageCreated(
                ticketID: ticketID, messageID: messageID, role: role,
                channel: Channel(rawValue: channel) ?? .whatsapp, preview: String(text.prefix(120)), createdAt: now,
                assignedAgentID: ticket["assigned_agent_id"], customerName: ticket["name"]
            ), in: db)
        return Outbound(ticketID: ticketID, messageID: messageID, phone: phone, channel: channel, repeated: false)
    }

    /// Applies a relay report once (by AMQP message id), never moving a message backwards
    /// (a late `retrying` does not undo `sent`). Returns false when it had been applied before.
    func applyDelivery(_ update: DeliveryUpdated, amqpMessageID: String, consumer: String) async throws -> Bool {
        try await committer.write { db in
            guard try ProcessedMessages.claim(amqpMessageID, consumer: consumer, db: db) else { return false }
            guard
                let current = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT delivery_status FROM messages WHERE id = ? AND ticket_id = ?"),
                    arguments: [update.messageID, update.ticketID])
            else { return true }
            let status = (current["delivery_status"] as String?).flatMap(DeliveryStatus.init(rawValue:)) ?? .queued
            guard update.status.mayFollow(status) else { return true }
            try db.cachedStatement(
                sql: """
                    UPDATE messages SET delivery_status = ?, delivery_attempt = ?, delivery_error = ?,
                        provider_message_id = COALESCE(?, provider_message_id), delivery_updated_at = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [
                update.status.rawValue, update.attempt, update.status == .sent ? nil : update.reason,
                update.providerMessageID, update.at, update.messageID,
            ])
            return true
        }
    }
}

extension DeliveryStatus {
    /// Progress order: a report only applies when it does not go back.
    var rank: Int {
        switch self {
        case .queued: 0
        case .retrying, .waitingBridge: 1
        case .failed: 2
        case .sent: 3
        case .delivered: 4
        case .read: 5
        }
    }

    func mayFollow(_ current: DeliveryStatus) -> Bool {
        rank >= current.rank
    }

    /// Whether a technician waiting on `enviar-mensaje` has an answer.
    var isDecisive: Bool {
        switch self {
        case .sent, .delivered, .read, .waitingBridge, .failed: true
        case .queued, .retrying: false
        }
    }
}
