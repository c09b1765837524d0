import AMQPClient
import Logging
import MostradorContracts
import MostradorMessaging

/// Consumes domain events and publishes what the rules decide, each with its derived id, before acknowledging.
struct Notifier: Sendable {
    let rules: NotificationRules
    let connection: AMQPConnection
    let logger: Logger

    var router: MessageRouter {
        var router = MessageRouter()
        router.on(TicketCreated.self) { envelope, _ in
            try await publish(rules.outputs(for: envelope.payload, id: envelope.messageID))
        }
        router.on(MessageCreated.self) { envelope, _ in
            try await publish(rules.outputs(for: envelope.payload, id: envelope.messageID))
        }
        router.on(TicketAssigned.self) { envelope, _ in
            try await publish(rules.outputs(for: envelope.payload, id: envelope.messageID))
        }
        router.on(ChatTransferred.self) { envelope, _ in
            try await publish(rules.outputs(for: envelope.payload, id: envelope.messageID))
        }
        router.on(ChatParticipantChanged.self) { envelope, _ in
            try await publish(rules.outputs(for: envelope.payload, id: envelope.messageID))
        }
        router.on(TicketStatusChanged.self) { envelope, _ in
            try await publish(rules.outputs(for: envelope.payload, id: envelope.messageID))
        }
        router.on(DeliveryUpdated.self) { envelope, _ in
            try await publish(rules.outputs(for: envelope.payload, id: envelope.messageID))
        }
        return router
    }

    func publish(_ outputs: [NotificationRules.Output]) async throws -> ConsumeOutcome {
        for output in outputs {
            switch output {
            case .notification(let notification, let id):
                try await connection.publish(notification, messageID: id)
                logger.debug(
                    "notification", metadata: ["kind": "\(notification.kind)", "ticket": "\(notification.ticketID)"])
            case .notice(let send, let id):
                try await connection.publish(send, messageID: id)
                logger.info("WhatsApp notice queued", metadata: ["ticket": "\(send.ticketID)"])
            }
        }
        return .ack
    }
}
