import Foundation
import MostradorContracts
import Testing

@Suite struct ContractCodingTests {
    func roundTrip<T: Codable & Equatable>(_ value: T) throws -> (T, String) {
        let data = try ContractCoding.sharedEncoder.encode(value)
        return (try ContractCoding.sharedDecoder.decode(T.self, from: data), String(decoding: data, as: UTF8.self))
    }

    @Test(arguments: [NotificationAudience.availableAgents, .assignedAgent, .agent(42), .customer])
    func everyAudienceSurvivesTheWire(_ audience: NotificationAudience) throws {
        let notification = NotificationCreated(
            ticketID: 7, audience: audience, kind: "new_message", title: "t", message: "m")
        let (decoded, json) = try roundTrip(notification)
        #expect(decoded == notification)
        #expect(!json.contains("_0"))
    }

    @Test func keysAreSnakeCaseWithAcronymsAndDatesKeepMilliseconds() throws {
        let event = TicketCreated(
            ticketID: 1, ticketUUID: UUID(), channel: .web, customerID: 2, customerName: "Ana", description: "x",
            language: "es", createdAt: Date(timeIntervalSince1970: 1_790_000_000.25), recipient: nil,
            intakeRunning: true)
        let (decoded, json) = try roundTrip(event)
        #expect(decoded == event)
        #expect(json.contains("\"ticket_uuid\"") && json.contains("\"intake_running\":true"))
        #expect(json.contains(".250Z"))
    }

    @Test func derivedIDsAreStableAndDistinct() {
        let source = UUID()
        #expect(DerivedID.make(from: source, "a") == DerivedID.make(from: source, "a"))
        #expect(DerivedID.make(from: source, "a") != DerivedID.make(from: source, "b"))
        #expect(DerivedID.make(from: source, "a") != DerivedID.make(from: UUID(), "a"))
    }
}
