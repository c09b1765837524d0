import Foundation
import MostradorSQL

/// The idempotency record of consumers: `(consumer, message_id)`, written in the same transaction as the effect.
enum ProcessedMessages {
    /// Records the message for `consumer`; false when it had been processed before (skip the effect).
    static func claim(_ messageID: String, consumer: String, db: Database) throws -> Bool {
        try db.cachedStatement(
            sql:
                "INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
        ).execute(arguments: [consumer, messageID, Date()])
        return db.changesCount == 1
    }

    /// Forgets ids processed before `cutoff` (retention); returns how many.
    static func delete(olderThan cutoff: Date, db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM processed_messages WHERE processed_at < ?", arguments: [cutoff])
        return db.changesCount
    }
}
