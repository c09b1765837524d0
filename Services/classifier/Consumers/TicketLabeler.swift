import AMQPClient
import Foundation
import Logging
import MostradorContracts
import MostradorMessaging

/// Classifies new tickets and changed descriptions and publishes `ticket.classified`. The verdict's id is derived
/// from the message that asked for it, so a redelivery publishes the same id (the api applies it once), and it
/// names the description it is about, so the api ignores a verdict that arrives after one on a newer description.
struct TicketLabeler: Sendable {
    let classify: @Sendable (String) async -> Classification
    /// Publishes a verdict with its message id (and returns once the broker confirmed it).
    let publish: @Sendable (TicketClassified, UUID) async throws -> Void
    let logger: Logger

    init(
        classify: @escaping @Sendable (String) async -> Classification,
        publish: @escaping @Sendable (TicketClassified, UUID) async throws -> Void, logger: Logger
    ) {
        self.classify = classify
        self.publish = publish
        self.logger = logger
    }

    init(classify: @escaping @Sendable (String) async -> Classification, connection: AMQPConnection, logger: Logger) {
        self.init(classify: classify, publish: { try await connection.publish($0, messageID: $1) }, logger: logger)
    }

    var router: MessageRouter {
        var router = MessageRouter()
        router.on(TicketCreated.self) { envelope, _ in
            guard let description = envelope.payload.description, !description.isEmpty else { return .ack }
            try await label(
                ticketID: envelope.payload.ticketID, text: description, equipment: envelope.payload.equipment,
                from: envelope.messageID)
            return .ack
        }
        router.on(TicketDescriptionUpdated.self) { envelope, _ in
            try await label(
                ticketID: envelope.payload.ticketID, text: envelope.payload.description,
                equipment: envelope.payload.equipment, from: envelope.messageID)
            return .ack
        }
        return router
    }

    /// The id of the verdict on the message `source`.
    static func verdictID(for source: UUID) -> UUID {
        DerivedID.make(from: source, TicketClassified.type)
    }

    /// What the model reads: the problem description, and the device the customer named when the description
    /// does not name it already ("no imprime" + "impresora HP").
    static func input(description: String, equipment: String?) -> String {
        guard let equipment, !equipment.isEmpty else { return description }
        let fold = { (text: String) in text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil) }
        return fold(description).contains(fold(equipment)) ? description : "\(description)\n\(equipment)"
    }

    /// Labels the ticket's description; the verdict names the description it was about (its digest), so the api
    /// drops a verdict on a description the ticket no longer has.
    func label(ticketID: Int64, text: String, equipment: String? = nil, from source: UUID) async throws {
        let result = await classify(Self.input(description: text, equipment: equipment))
        logger.info(
            "ticket classified",
            metadata: [
                "ticket": "\(ticketID)", "label": "\(result.label.rawValue)",
                "confidence": "\(String(format: "%.2f", result.confidence))",
            ])
        try await publish(
            TicketClassified(
                ticketID: ticketID, label: result.label, confidence: result.confidence,
                modelVersion: result.modelVersion, topTerms: result.topTerms,
                descriptionDigest: TicketClassified.descriptionDigest(of: text)),
            Self.verdictID(for: source))
    }
}
