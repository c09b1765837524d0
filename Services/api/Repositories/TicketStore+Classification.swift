import Foundation
import GRDB
import MostradorContracts

extension TicketStore {
    /// Stores the classifier's label on the ticket (once per AMQP message id) and notes it in the conversation.
    /// `unknown` flags the ticket for a human.
    func applyClassification(_ result: TicketClassified, amqpMessageID: String, consumer: String) async throws -> Bool {
        try await committer.write { db in
            guard try ProcessedMessages.claim(amqpMessageID, consumer: consumer, db: db) else { return false }
            guard
                let previous = try Row.fetchOne(
                    db, sql: "SELECT category, category_model FROM tickets WHERE id = ?", arguments: [result.ticketID])
            else { return true }
            try db.execute(
                sql: """
                    UPDATE tickets SET category = ?, category_confidence = ?, category_model = ?, needs_review = ?,
                        updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [
                    result.label.rawValue, result.confidence, result.modelVersion, result.label == .unknown, Date(),
                    result.ticketID,
                ])
            let changed =
                previous["category"] as String != result.label.rawValue
                || previous["category_model"] as String? != result.modelVersion
            if changed {
                try db.execute(
                    sql:
                        "INSERT INTO messages (ticket_id, role, content, type, created_at) VALUES (?, 'system', ?, 'text', ?)",
                    arguments: [result.ticketID, Self.classificationNote(result), Date()])
            }
            return true
        }
    }

    static func classificationNote(_ result: TicketClassified) -> String {
        let percent = Int((result.confidence * 100).rounded())
        let terms = result.topTerms.isEmpty ? "" : " — términos: " + result.topTerms.prefix(5).joined(separator: ", ")
        switch result.label {
        case .unknown:
            return "🏷️ Sin clasificar (confianza \(percent)%): requiere revisión de un técnico\(terms)"
        case .hardware, .software:
            return "🏷️ Clasificado como \(result.label.rawValue) (confianza \(percent)%)\(terms)"
        }
    }
}
