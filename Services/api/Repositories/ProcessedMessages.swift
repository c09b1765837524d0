import Foundation
import GRDB

/// The idempotency record of consumers: `(consumer, message_id)`, written in the same transaction as the effect.
enum ProcessedMessages {
    /// Records the message for `consumer`; false when it had been processed before (skip the effect).
    static func claim(_ messageID: String, consumer: String, db: Database) throws -> Bool {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO processed_messages (consumer, message_id, processed_at) VALUES (?, ?, ?)"
        ).execute(arguments: [consumer, messageID, Date()])
        return db.changesCount == 1
    }
}
