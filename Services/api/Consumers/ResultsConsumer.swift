import AMQPClient
import Logging
import MostradorContracts
import MostradorMessaging

/// What the api learns from other services through `api.results`: delivery reports, classifications and
/// notifications. Each is applied once, with its `(consumer, message_id)` record in the same
/// transaction, then acknowledged.
enum ResultsConsumer {
    static let name = "api.results"

    static func router(conversations: Conversations, notifications: NotificationStore) -> MessageRouter {
        var router = MessageRouter()
        router.on(DeliveryUpdated.self) { envelope, _ in
            try await conversations.applyDelivery(
                envelope.payload, amqpMessageID: envelope.messageID.uuidString.lowercased(), consumer: name)
            return .ack
        }
        router.on(NotificationCreated.self) { envelope, _ in
            _ = try await notifications.store(
                envelope.payload, amqpMessageID: envelope.messageID.uuidString.lowercased(), consumer: name)
            return .ack
        }
        router.on(TicketClassified.self) { envelope, _ in
            try await conversations.applyClassification(
                envelope.payload, amqpMessageID: envelope.messageID.uuidString.lowercased(), consumer: name)
            return .ack
        }
        return router
    }
}
