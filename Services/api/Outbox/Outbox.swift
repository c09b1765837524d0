import AMQPClient
import Foundation
import MostradorContracts
import MostradorMessaging
import MostradorSQL
import MostradorTracing

/// Writes events and commands into the outbox table, inside the caller's transaction: they reach the broker if
/// and only if the change they describe was committed.
enum Outbox {
    static func add<Payload: MessageContract>(_ payload: Payload, messageID: UUID = UUID(), in db: Database) throws {
        let message = try AMQPMessage(Envelope(payload, messageID: messageID))
        try db.execute(
            sql: """
                INSERT INTO outbox (message_id, exchange, routing_key, type, correlation_id, schema_version, body,
                                    created_at, traceparent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                message.properties.messageID, message.exchange, message.routingKey, Payload.type,
                message.properties.correlationID, Payload.schemaVersion, Data(message.body), Date(),
                message.properties.headers[TraceContext.header]?.stringValue,
            ]
        )
    }
}
