import AMQPClient
import Logging
import MostradorContracts
import MostradorMessaging

/// What the api learns from other services through `api.results`: delivery reports, classifications and
/// notifications. Each is applied once, with its `(consumer, message_id)` record in the same
/// transaction, then acknowledged.
enum ResultsConsumer {
    static let name = "api.results"

    static func router(
        tickets: TicketStore, notifier: DeliveryNotifier, notifications: NotificationStore,
        live: LiveSignal
    ) -> MessageRouter {
        var router = MessageRouter()
        router.on(DeliveryUpdated.self) { envelope, _ in
            let update = envelope.payload
            _ = try await tickets.applyDelivery(
                update, amqpMessageID: envelope.messageID.uuidString.lowercased(), consumer: name)
            notifier.notify(messageID: update.messageID)
            live.deliveryChanged(update.ticketID, messageID: update.messageID)
            return .ack
        }
        router.on(NotificationCreated.self) { envelope, _ in
            _ = try await notifications.store(
                envelope.payload, amqpMessageID: envelope.messageID.uuidString.lowercased(), consumer: name)
            return .ack
        }
        router.on(TicketClassified.self) { envelope, _ in
            if try await tickets.applyClassification(
                envelope.payload, amqpMessageID: envelope.messageID.uuidString.lowercased(), consumer: name)
            {
                live.changed(envelope.payload.ticketID)
            }
            return .ack
        }
        return router
    }
}
