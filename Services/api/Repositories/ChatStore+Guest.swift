import Foundation
import GRDB
import MostradorContracts

extension ChatStore {
    struct GuestSession: Sendable {
        let id: String
        let createdAt: Date
        let expiresAt: Date
        let hasMessage: Bool
        let completed: Bool
    }

    enum GuestProblem: Error, Equatable {
        case tooManyChats
        case expired
        case alreadyCompleted
    }

    /// Step 1 of the guest flow: a session that lives `lifetime`; at most `limit` per IP within `window`.
    func startGuestSession(
        initialMessage: String, ip: String?, limit: Int, window: TimeInterval,
        lifetime: TimeInterval
    ) async throws -> GuestSession {
        try await committer.write { db in
            let now = Date()
            if let ip {
                let recent =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM guest_sessions WHERE ip = ? AND created_at > ?",
                        arguments: [ip, now.addingTimeInterval(-window)]) ?? 0
                guard recent < limit else { throw GuestProblem.tooManyChats }
            }
            let id = UUID().uuidString.lowercased()
            let expires = now.addingTimeInterval(lifetime)
            try db.execute(
                sql:
                    "INSERT INTO guest_sessions (id, initial_message, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, initialMessage, ip, now, expires])
            return GuestSession(id: id, createdAt: now, expiresAt: expires, hasMessage: true, completed: false)
        }
    }

    func guestSession(_ id: String) async throws -> GuestSession? {
        try await reader.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM guest_sessions WHERE id = ?", arguments: [id.lowercased()]).map {
                GuestSession(
                    id: $0["id"], createdAt: $0["created_at"], expiresAt: $0["expires_at"],
                    hasMessage: !($0["initial_message"] as String).isEmpty, completed: $0["ticket_id"] as Int64? != nil)
            }
        }
    }

    /// Step 2: the visitor's details open the chat room. Returns its UUID, ticket and the room token (shown once).
    func completeGuestChat(sessionID: String, fullName: String, email: String, phone: String)
        async throws -> (room: String, ticketID: Int64, token: String)
    {
        let token = AgentStore.newToken()
        let result = try await committer.write { db -> (String, Int64) in
            let now = Date()
            guard
                let session = try Row.fetchOne(
                    db, sql: "SELECT * FROM guest_sessions WHERE id = ?", arguments: [sessionID.lowercased()]),
                (session["expires_at"] as Date) > now
            else { throw GuestProblem.expired }
            guard session["ticket_id"] as Int64? == nil else { throw GuestProblem.alreadyCompleted }
            let initial: String = session["initial_message"]
            let emailKey = email.lowercased()
            let phoneIdentity = try? SenderAddress(phone)
            // One customer per person: the same email, or the same phone seen on WhatsApp, is the same customer.
            var customerID = try Int64.fetchOne(
                db, sql: "SELECT customer_id FROM customer_identities WHERE kind = 'email' AND value = ?",
                arguments: [emailKey])
            if customerID == nil, let phoneIdentity {
                customerID = try Int64.fetchOne(
                    db, sql: "SELECT customer_id FROM customer_identities WHERE kind = 'phone' AND value = ?",
                    arguments: [phoneIdentity.value])
            }
            if customerID == nil {
                try db.execute(
                    sql: "INSERT INTO customers (name, email, language, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [fullName, emailKey, IntakeBot.language(of: initial), now])
                customerID = db.lastInsertedRowID
            } else {
                try db.execute(
                    sql: "UPDATE customers SET name = COALESCE(name, ?), email = COALESCE(email, ?) WHERE id = ?",
                    arguments: [fullName, emailKey, customerID])
            }
            var identities: [(String, String, String)] = [
                ("email", emailKey, email), ("guest", sessionID.lowercased(), phone),
            ]
            if let phoneIdentity { identities.append(("phone", phoneIdentity.value, phoneIdentity.address)) }
            for (kind, value, address) in identities {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO customer_identities (customer_id, kind, value, address, created_at, last_seen_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [customerID, kind, value, address, now, now])
            }
            let uuid = UUID()
            let language = IntakeBot.language(of: initial)
            try db.execute(
                sql: """
                    INSERT INTO tickets (uuid, customer_id, channel, status, description, subject, initial_message,
                                         language, guest_token_hash, created_at, updated_at, last_message_at)
                    VALUES (?, ?, 'web', 'new', ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    uuid.uuidString.lowercased(), customerID, initial, "Chat de \(fullName)", initial, language,
                    AgentStore.digest(token), now, now, now,
                ])
            let ticketID = db.lastInsertedRowID
            try db.execute(
                sql:
                    "INSERT INTO messages (ticket_id, role, content, type, created_at) VALUES (?, 'user', ?, 'text', ?)",
                arguments: [ticketID, initial, now])
            let messageID = db.lastInsertedRowID
            try db.execute(
                sql: "UPDATE guest_sessions SET ticket_id = ? WHERE id = ?",
                arguments: [ticketID, sessionID.lowercased()])
            try Outbox.add(
                TicketCreated(
                    ticketID: ticketID, ticketUUID: uuid, channel: .web, customerID: customerID!,
                    customerName: fullName,
                    description: initial, language: language, createdAt: now),
                in: db)
            try Outbox.add(
                MessageCreated(
                    ticketID: ticketID, messageID: messageID, role: .user, channel: .web,
                    preview: String(initial.prefix(120)), createdAt: now, customerName: fullName),
                in: db)
            return (uuid.uuidString.lowercased(), ticketID)
        }
        outboxWakeup.signal()
        return (result.0, result.1, token)
    }

    /// A web visitor's message in their room; a `clientID` already used in the room returns that message.
    func addCustomerMessage(ticketID: Int64, content: String, clientID: String? = nil) async throws -> ChatMessage {
        let message = try await committer.write { db -> ChatMessage in
            if let clientID,
                let existing = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT m.*, NULL AS first_name, NULL AS last_name, NULL AS attachment_id FROM messages m
                        WHERE ticket_id = ? AND client_id = ?
                        """,
                    arguments: [ticketID, clientID])
            {
                return ChatMessage(row: existing)
            }
            let ticket = try TicketFacts(id: ticketID, db: db)
            guard ticket.status != "closed" else { throw Problem.closed }
            let now = Date()
            try db.execute(
                sql: """
                    INSERT INTO messages (ticket_id, role, content, type, client_id, created_at)
                    VALUES (?, 'user', ?, 'text', ?, ?)
                    """,
                arguments: [ticketID, content, clientID, now])
            let id = db.lastInsertedRowID
            try db.execute(
                sql: """
                    UPDATE tickets SET last_message_at = ?, updated_at = ?,
                        status = CASE WHEN status = 'resolved' THEN 'open' ELSE status END
                    WHERE id = ?
                    """,
                arguments: [now, now, ticketID])
            try Outbox.add(
                MessageCreated(
                    ticketID: ticketID, messageID: id, role: .user, channel: ticket.channelValue,
                    preview: String(content.prefix(120)), createdAt: now, assignedAgentID: ticket.assignedAgentID,
                    customerName: ticket.customerName),
                in: db)
            return ChatMessage(
                row: try Row.fetchOne(
                    db,
                    sql:
                        "SELECT m.*, NULL AS first_name, NULL AS last_name, NULL AS attachment_id FROM messages m WHERE id = ?",
                    arguments: [id])!)
        }
        outboxWakeup.signal()
        live?.changed(ticketID)
        return message
    }
}
