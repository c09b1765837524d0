import Foundation
import MostradorContracts
import Testing

@testable import MostradorNotifier

/// What the notifier says when technicians join or leave a chat, and who hears about a chat's news once it has
/// several technicians.
@Suite("Several technicians on one chat: notifications")
struct ParticipantNotificationTests {
    static func rules() throws -> NotificationRules {
        NotificationRules(templates: try NoticeTemplates.load(path: nil))
    }

    static func notifications(_ outputs: [NotificationRules.Output]) -> [NotificationCreated] {
        outputs.compactMap { if case .notification(let notification, _) = $0 { notification } else { nil } }
    }

    static func change(joined: Bool, by: Int64, channel: Channel = .whatsapp) -> ChatParticipantChanged {
        ChatParticipantChanged(
            ticketID: 7, agentID: 3, agentName: "Luis Pérez", joined: joined, byAgentID: by, channel: channel,
            customerName: "Ana")
    }

    @Test func anInvitedAgentIsToldAndAWebCustomerSeesWhoJoined() throws {
        let outputs = Self.notifications(try Self.rules().outputs(for: Self.change(joined: true, by: 2), id: UUID()))
        #expect(outputs.map(\.kind) == ["chat_invited"])
        #expect(outputs.first?.audience == .agent(3))
        #expect(outputs.first?.message.contains("#7") == true)

        let web = Self.notifications(
            try Self.rules().outputs(for: Self.change(joined: true, by: 2, channel: .web), id: UUID()))
        #expect(web.map(\.kind) == ["chat_invited", "agent_joined"])
        #expect(web.last?.audience == .customer)
        #expect(web.last?.message == "Luis Pérez se ha unido al chat")
    }

    @Test func whoJoinsOrLeavesByThemselvesGetsNoNotification() throws {
        #expect(Self.notifications(try Self.rules().outputs(for: Self.change(joined: true, by: 3), id: UUID())).isEmpty)
        let removed = Self.notifications(try Self.rules().outputs(for: Self.change(joined: false, by: 2), id: UUID()))
        #expect(removed.map(\.kind) == ["chat_removed"])
        let left = Self.notifications(
            try Self.rules().outputs(for: Self.change(joined: false, by: 3, channel: .web), id: UUID()))
        #expect(left.map(\.kind) == ["agent_left"])
        #expect(left.first?.message == "Luis Pérez dejó el chat")
    }

    @Test func aCustomersMessageAndAResolveReachEveryTechnicianOfTheChat() throws {
        let message = MessageCreated(
            ticketID: 7, messageID: 70, role: .user, channel: .whatsapp, preview: "hola", createdAt: Date(),
            assignedAgentID: 2, customerName: "Ana")
        let news = Self.notifications(try Self.rules().outputs(for: message, id: UUID()))
        #expect(news.map(\.audience) == [.ticketAgents])
        let resolved = TicketStatusChanged(
            ticketID: 7, from: "open", to: "resolved", at: Date(), channel: .whatsapp, recipient: "5215550001111",
            language: "es", customerName: "Ana", assignedAgentID: 2, byAgentID: 3)
        let told = Self.notifications(try Self.rules().outputs(for: resolved, id: UUID()))
        #expect(told.map(\.audience) == [.ticketAgents])
        #expect(told.first?.excludeAgentID == 3)
    }
}
