import AMQPClient
import Logging
import MostradorContracts
import MostradorMessaging

/// Classifies new tickets and changed descriptions and publishes `ticket.classified`.
struct TicketLabeler: Sendable {
    let classify: @Sendable (String) async -> Classification
    let connection: AMQPConnection
    let logger: Logger

    var router: MessageRouter {
        var router = MessageRouter()
        router.on(TicketCreated.self) { envelope, _ in
            guard let description = envelope.payload.description, !description.isEmpty else { return .ack }
            try await label(ticketID: envelope.payload.ticketID, text: description)
            return .ack
        }
        router.on(TicketDescriptionUpdated.self) { envelope, _ in
            try await label(ticketID: envelope.payload.ticketID, text: envelope.payload.description)
            return .ack
        }
        return router
    }

    func label(ticketID: Int64, text: String) async throws {
        let result = await classify(text)
        logger.info(
            "ticket classified",
            metadata: [
                "ticket": "\(ticketID)", "label": "\(result.label.rawValue)",
                "confidence": "\(String(format: "%.2f", result.confidence))",
            ])
        try await connection.publish(
            TicketClassified(
                ticketID: ticketID, label: result.label, confidence: result.confidence,
                modelVersion: result.modelVersion, topTerms: result.topTerms))
    }
}
