import Foundation
import Logging
import MostradorContracts
import Synchronization
import Testing

@testable import MostradorClassifier

/// `ticket.classified` is derived from the message that asked for it (review R13): a redelivery publishes the same
/// id, which the api applies once, and the verdict names the description it is about.
@Suite struct TicketLabelerTests {
    final class Published: Sendable {
        let verdicts = Mutex<[(TicketClassified, UUID)]>([])
    }

    static func labeler(_ published: Published) -> TicketLabeler {
        TicketLabeler(
            classify: { text in
                Classification(
                    label: text.contains("pantalla") ? .hardware : .software, confidence: 0.9, topTerms: [],
                    modelVersion: "test")
            },
            publish: { verdict, id in published.verdicts.withLock { $0.append((verdict, id)) } },
            logger: Logger(label: "test"))
    }

    @Test func aRedeliveryPublishesTheSameVerdictID() async throws {
        let published = Published()
        let labeler = Self.labeler(published)
        let source = UUID()
        try await labeler.label(ticketID: 42, text: "la pantalla está rota", from: source)
        try await labeler.label(ticketID: 42, text: "la pantalla está rota", from: source)
        try await labeler.label(ticketID: 42, text: "no abre el correo", from: UUID())
        let verdicts = published.verdicts.withLock { $0 }
        #expect(verdicts.count == 3)
        #expect(verdicts[0].1 == verdicts[1].1)
        #expect(verdicts[0].1 == TicketLabeler.verdictID(for: source))
        #expect(verdicts[0].1 != source)
        #expect(verdicts[2].1 != verdicts[0].1)
    }

    @Test func theVerdictNamesTheDescriptionItIsAbout() async throws {
        let published = Published()
        try await Self.labeler(published).label(ticketID: 42, text: "no abre el correo", from: UUID())
        let verdict = try #require(published.verdicts.withLock { $0.first?.0 })
        #expect(verdict.descriptionDigest == TicketClassified.descriptionDigest(of: "no abre el correo"))
        #expect(verdict.descriptionDigest != TicketClassified.descriptionDigest(of: "no abre el correo "))
        // On the wire, beside the fields older consumers know.
        let json = String(decoding: try ContractCoding.sharedEncoder.encode(verdict), as: UTF8.self)
        #expect(json.contains("\"description_digest\":\"\(verdict.descriptionDigest ?? "")\""))
        let decoded = try ContractCoding.sharedDecoder.decode(TicketClassified.self, from: Data(json.utf8))
        #expect(decoded == verdict)
        // A verdict from an older classifier (no digest) still decodes.
        let old = Data(
            #"{"ticket_id":1,"label":"Hardware","confidence":0.8,"model_version":"v","top_terms":[]}"#.utf8)
        #expect(try ContractCoding.sharedDecoder.decode(TicketClassified.self, from: old).descriptionDigest == nil)
    }
}
