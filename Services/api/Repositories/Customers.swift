import Foundation
import MostradorSQL

/// Customers and their identities. An identity is verified only when a channel proves it (an inbound WhatsApp
/// message from the address); what a web visitor types is never an identity: it stays a claim on their own ticket.
enum Customers {
    /// The customer behind a verified channel address, created on first contact. The address's own name (the
    /// WhatsApp push name) is remembered only while the customer has none.
    /// The customer a channel-verified address belongs to (created on first sight). `alias` is a second identity
    /// the channel vouches for in the same message (the Cloud API's BSUID beside the phone, a LID's phone): it is
    /// attached to the same customer, so one person stays one customer whichever of the two they write from next.
    /// When the two addresses already belong to two customers, the channel has just proved they are one person:
    /// the customers are merged (see `merge`).
    static func verified(_ sender: SenderAddress, alias: SenderAddress?, pushName: String?, db: Database) throws
        -> Int64
    {
        guard let alias, alias != sender else { return try verified(sender, pushName: pushName, db: db) }
        switch (try owner(of: sender, db: db), try owner(of: alias, db: db)) {
        case (nil, let aliasOwner?):
            // Known by the alias only (a username user who now shows a phone): the sender joins that customer.
            try attach(sender, to: aliasOwner, db: db)
        case (let senderOwner?, let aliasOwner?) where senderOwner != aliasOwner:
            try merge(
                min(senderOwner, aliasOwner), max(senderOwner, aliasOwner),
                evidence: "\(sender.display) y \(alias.display)", db: db)
        default:
            break
        }
        let customerID = try verified(sender, pushName: pushName, db: db)
        try attach(alias, to: customerID, db: db)
        return customerID
    }

    /// The customer an address is an identity of, if any.
    static func owner(of address: SenderAddress, db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?"),
            arguments: [address.kind.rawValue, address.value])
    }

    /// Two customers a channel proved to be one person become one: `merged`'s identities and tickets (with their
    /// messages and files) go to `survivor` (the older one), which keeps its name unless it had none; `merged`
    /// stays as a record pointing at the survivor (`merged_into`), the merge is written to `customer_merges`, and
    /// every open ticket of the person gets a system note saying what happened, for the technicians.
    static func merge(_ survivor: Int64, _ merged: Int64, evidence: String, db: Database) throws {
        let moved = try Int64.fetchAll(
            db, sql: "SELECT id FROM tickets WHERE customer_id = ? ORDER BY id", arguments: [merged])
        // One statement per call: GRDB hands a multi-statement string's arguments out statement by statement.
        let statements = [
            "UPDATE customer_identities SET customer_id = ?1 WHERE customer_id = ?2",
            "UPDATE tickets SET customer_id = ?1 WHERE customer_id = ?2",
            """
            UPDATE customers SET
                name = COALESCE(name, (SELECT name FROM customers WHERE id = ?2)),
                email = COALESCE(email, (SELECT email FROM customers WHERE id = ?2))
            WHERE id = ?1
            """,
            "UPDATE customers SET merged_into = ?1 WHERE id = ?2 OR merged_into = ?2",
        ]
        for sql in statements { try db.execute(sql: sql, arguments: [survivor, merged]) }
        try db.execute(
            sql: """
                INSERT INTO customer_merges (survivor_id, merged_id, evidence, tickets, created_at)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [survivor, merged, evidence, moved.map(String.init).joined(separator: ","), Date()])
        try AuditLog.add(
            AuditEntry(
                "customer.merge", by: nil, target: ("customer", String(survivor)),
                details: [
                    "fusionado": String(merged), "evidencia": evidence,
                    "tickets": moved.map(String.init).joined(separator: ","),
                ]),
            db: db)
        let note =
            "WhatsApp confirmó que \(evidence) son la misma persona: se unieron sus clientes (#\(merged) en #\(survivor))"
            + (moved.isEmpty
                ? "." : "; sus tickets \(moved.map { "#\($0)" }.joined(separator: ", ")) son ahora de este cliente.")
        let open = try Int64.fetchAll(
            db, sql: "SELECT id FROM tickets WHERE customer_id = ? AND status != 'closed' ORDER BY id",
            arguments: [survivor])
        for ticketID in open {
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { continue }
            _ = try Messages.insert(.note(note), on: ticket, db: db)
        }
    }

    /// Makes `address` an identity of `customerID` (moving it from another customer if needed).
    private static func attach(_ address: SenderAddress, to customerID: Int64, db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO customer_identities (customer_id, kind, value, address, created_at, last_seen_at, verified_by)
                VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'whatsapp')
                ON CONFLICT (kind, value) DO UPDATE SET customer_id = ?1, address = ?4, last_seen_at = ?5,
                    verified_by = COALESCE(customer_identities.verified_by, 'whatsapp')
                """
        ).execute(arguments: [customerID, address.kind.rawValue, address.value, address.address, Date()])
    }

    static func verified(_ sender: SenderAddress, pushName: String?, db: Database) throws -> Int64 {
        let now = Date()
        if let row = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT id, customer_id FROM customer_identities WHERE kind = ? AND value = ?"),
            arguments: [sender.kind.rawValue, sender.value])
        {
            let customerID: Int64 = row["customer_id"]
            try db.cachedStatement(
                sql: """
                    UPDATE customer_identities SET address = ?, last_seen_at = ?,
                        verified_by = COALESCE(verified_by, 'whatsapp')
                    WHERE id = ?
                    """
            ).execute(arguments: [sender.address, now, row["id"] as Int64])
            if let pushName, !pushName.isEmpty {
                try db.cachedStatement(sql: "UPDATE customers SET name = ? WHERE id = ? AND name IS NULL")
                    .execute(arguments: [pushName, customerID])
            }
            return customerID
        }
        let customerID = try create(name: pushName.flatMap { $0.isEmpty ? nil : $0 }, language: "es", db: db)
        try db.cachedStatement(
            sql: """
                INSERT INTO customer_identities (customer_id, kind, value, address, created_at, last_seen_at, verified_by)
                VALUES (?, ?, ?, ?, ?, ?, 'whatsapp')
                """
        ).execute(arguments: [customerID, sender.kind.rawValue, sender.value, sender.address, now, now])
        return customerID
    }

    /// A web visitor: a customer of their own, named as they said. Nothing they typed touches anyone else.
    static func visitor(name: String, language: String, db: Database) throws -> Int64 {
        try create(name: name, language: language, db: db)
    }

    /// The name the intake assistant learnt from the customer.
    static func rename(_ customerID: Int64, to name: String, db: Database) throws {
        try db.execute(sql: "UPDATE customers SET name = ? WHERE id = ?", arguments: [name, customerID])
    }

    private static func create(name: String?, language: String, db: Database) throws -> Int64 {
        try db.cachedStatement(sql: "INSERT INTO customers (name, language, created_at) VALUES (?, ?, ?)")
            .execute(arguments: [name, language, Date()])
        return db.lastInsertedRowID
    }
}
