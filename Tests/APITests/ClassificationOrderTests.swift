import Foundation
import MostradorContracts
import MostradorSQL
import Testing

@testable import MostradorAPI

/// The api applies the classifier's verdicts in order (review R13): a verdict on a description the ticket no longer
/// has is ignored, whichever arrives first; a redelivered verdict is applied once.
@Suite struct ClassificationOrderTests {
    static func category(_ api: APITestSystem, _ ticket: Int64) async throws -> String? {
        try await api.pool.read { db in
            try String.fetchOne(db, sql: "SELECT category FROM tickets WHERE id = ?", arguments: [ticket])
        }
    }

    static func verdict(_ ticket: Int64, _ label: TicketCategory, about description: String?) -> TicketClassified {
        TicketClassified(
            ticketID: ticket, label: label, confidence: 0.9, modelVersion: "test", topTerms: [],
            descriptionDigest: description.map(TicketClassified.descriptionDigest(of:)))
    }

    @Test func aVerdictOnAnOlderDescriptionArrivingLateIsIgnored() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat("no abre el correo")
            let newer = "no abre el correo y además la pantalla está rota"
            try await api.components.committer.write { db in
                try db.execute(
                    sql: "UPDATE tickets SET description = ? WHERE id = ?", arguments: [newer, chat.ticket])
            }
            let conversations = api.components.conversations
            // The verdict on the newer description comes first…
            try await conversations.applyClassification(
                Self.verdict(chat.ticket, .hardware, about: newer), amqpMessageID: UUID().uuidString, consumer: "t")
            #expect(try await Self.category(api, chat.ticket) == "Hardware")
            // …then the one on the first description, late: it changes nothing.
            try await conversations.applyClassification(
                Self.verdict(chat.ticket, .software, about: "no abre el correo"), amqpMessageID: UUID().uuidString,
                consumer: "t")
            #expect(try await Self.category(api, chat.ticket) == "Hardware")
            // A verdict without a digest (an older classifier) applies as it comes.
            try await conversations.applyClassification(
                Self.verdict(chat.ticket, .software, about: nil), amqpMessageID: UUID().uuidString, consumer: "t")
            #expect(try await Self.category(api, chat.ticket) == "Software")
        }
    }

    @Test func aRedeliveredVerdictIsAppliedOnce() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat("no abre el correo")
            let id = UUID().uuidString.lowercased()
            let verdict = Self.verdict(chat.ticket, .software, about: "no abre el correo")
            for _ in 0..<2 {
                try await api.components.conversations.applyClassification(verdict, amqpMessageID: id, consumer: "t")
            }
            let notes = try await api.pool.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM messages WHERE ticket_id = ? AND content LIKE 'Clasificado%'",
                    arguments: [chat.ticket])
            }
            #expect(notes == 1)
        }
    }

    /// The confidence comes from another service: NaN or ±∞ must not trap when the note is written (review R6).
    @Test(arguments: [Double.nan, .infinity, -.infinity, 1e20, -5])
    func aHostileConfidenceDoesNotTrap(_ confidence: Double) {
        var verdict = Self.verdict(1, .hardware, about: nil)
        verdict.confidence = confidence
        let note = Conversations.classificationNote(verdict)
        #expect(note.hasPrefix("Clasificado como Hardware (confianza "))
        #expect(note.contains(confidence > 0.5 ? "100%" : "0%"))
    }
}
