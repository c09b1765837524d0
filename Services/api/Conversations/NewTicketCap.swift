import Foundation
import MostradorContracts
import MostradorSQL

/// How many new WhatsApp tickets one sender may open per hour (`MOSTRADOR_WEBHOOK_NEW_TICKETS_PER_SENDER_HOUR`).
/// Each new ticket starts the intake assistant, which writes to that number through the business's account, so a
/// leaked webhook token must not turn into unlimited outbound messages. Messages on an open ticket are not limited.
/// Counted from the database, so the cap holds across api instances.
struct NewTicketCap: Sendable {
    let limit: Int
    /// The start of the window: tickets created after it count.
    let since: Date

    /// Thrown inside the inbound transaction instead of opening one more ticket; nothing is stored.
    struct Exceeded: Error, Equatable {
        let limit: Int
    }

    func check(customerID: Int64, db: Database) throws {
        let count = try Tickets.createdCount(customerID: customerID, channel: .whatsapp, since: since, db: db)
        if count >= limit { throw Exceeded(limit: limit) }
    }
}

extension Tickets {
    /// How many tickets of `channel` this customer opened after `since`.
    static func createdCount(customerID: Int64, channel: Channel, since: Date, db: Database) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(
                sql: "SELECT COUNT(*) FROM tickets WHERE customer_id = ? AND channel = ? AND created_at > ?"),
            arguments: [customerID, channel.rawValue, since]) ?? 0
    }
}
