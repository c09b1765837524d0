import Foundation
import GRDB

/// Customers and their identities. An identity is verified only when a channel proves it (an inbound WhatsApp
/// message from the address); what a web visitor types is never an identity: it stays a claim on their own ticket.
enum Customers {
    /// The customer behind a verified channel address, created on first contact. The address's own name (the
    /// WhatsApp push name) is remembered only while the customer has none.
    /// The customer a channel-verified address belongs to (created on first sight). `alias` is a second identity
    /// the channel vouches for in the same message (the Cloud API's BSUID beside the phone): it is attached to
    /// the same customer, taken over from whoever held it before, so one person stays one customer whichever of
    /// the two they write from next.
    static func verified(_ sender: SenderAddress, alias: SenderAddress?, pushName: String?, db: Database) throws
        -> Int64
    {
        if let alias, alias != sender,
            let aliasOwner = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?"),
                arguments: [alias.kind.rawValue, alias.value]),
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM customer_identities WHERE kind = ? AND value = ?"),
                arguments: [sender.kind.rawValue, sender.value]) == nil
        {
            // Known by the alias only (a username user who now shows a phone): the phone joins that customer.
            try attach(sender, to: aliasOwner, db: db)
        }
        let customerID = try verified(sender, pushName: pushName, db: db)
        if let alias, alias != sender { try attach(alias, to: customerID, db: db) }
        return customerID
    }

    /// Makes `address` an identity of `customerID` (moving it from another customer if needed).
    private static func attach(_ address: SenderAddress, to customerID: Int64, db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO customer_identities (customer_id, kind, value, address, created_at, last_seen_at, verified_by)
                VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'whatsapp')
                ON CONFLICT (kind, value) DO UPDATE SET customer_id = ?1, address = ?4, last_seen_at = ?5,
                    verified_by = COALESCE(verified_by, 'whatsapp')
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
