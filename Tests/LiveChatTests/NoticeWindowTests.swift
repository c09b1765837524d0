import Foundation
import MostradorContracts
import Testing

@testable import MostradorNotifier

/// The notifier's WhatsApp notices and the Cloud API's 24-hour window: inside it a notice is its text; once it has
/// closed, only the Meta template configured for the notice goes out, and a notice without one is not sent (Meta
/// would refuse it with 131047).
@Suite("Notices outside the 24-hour window")
struct NoticeWindowTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func rules(_ templates: NoticeTemplates? = nil) throws -> NotificationRules {
        var rules = NotificationRules(templates: try templates ?? NoticeTemplates.load(path: nil))
        rules.now = { now }
        return rules
    }

    static func resolved(windowClosesAt: Date?, channel: String? = "cloud", language: String = "es")
        -> TicketStatusChanged
    {
        TicketStatusChanged(
            ticketID: 41, from: "open", to: "resolved", at: now, channel: .whatsapp, recipient: "972987654321",
            language: language, customerName: "Ana", replyChannel: channel, windowClosesAt: windowClosesAt)
    }

    static func notice(_ outputs: [NotificationRules.Output]) -> RelaySend? {
        for output in outputs { if case .notice(let send, _) = output { return send } }
        return nil
    }

    @Test func insideTheWindowTheNoticeIsItsText() throws {
        let send = try #require(
            Self.notice(try Self.rules().outputs(for: Self.resolved(windowClosesAt: Self.now + 3600), id: UUID())))
        #expect(send.template == nil)
        #expect(send.text.contains("#41"))
        #expect(send.channel == "cloud")
    }

    @Test func afterTheWindowTheNoticeIsTheConfiguredMetaTemplate() throws {
        let event = Self.resolved(windowClosesAt: Self.now - 1)
        let send = try #require(Self.notice(try Self.rules().outputs(for: event, id: UUID())))
        #expect(
            send.template
                == RelayTemplate(name: "mostrador_ticket_resuelto", language: "es_MX", parameters: ["Ana", "41"]))
        // The text stays: it is what the technicians see, and what channels without templates would send.
        #expect(send.text.contains("#41"))
        let english = try #require(
            Self.notice(
                try Self.rules().outputs(for: Self.resolved(windowClosesAt: Self.now - 1, language: "en"), id: UUID())))
        #expect(english.template?.language == "en_US")
    }

    @Test func afterTheWindowANoticeWithoutTemplateIsNotSent() throws {
        var templates = try NoticeTemplates.load(path: nil)
        templates.plantillasMeta = nil
        let outputs = try Self.rules(templates).outputs(for: Self.resolved(windowClosesAt: Self.now - 1), id: UUID())
        #expect(Self.notice(outputs) == nil)
        // Channels without a window (no `windowClosesAt`) are unaffected.
        let seed = try Self.rules(templates).outputs(
            for: Self.resolved(windowClosesAt: nil, channel: nil), id: UUID())
        #expect(Self.notice(seed)?.template == nil)
        #expect(Self.notice(seed) != nil)
    }

    @Test func anAssignmentAfterTheWindowUsesItsTemplateToo() throws {
        let event = TicketAssigned(
            ticketID: 7, agentID: 2, agentName: "Luis", byAgentID: 1, channel: .whatsapp, recipient: "972987654321",
            language: "es", customerName: "Ana", replyChannel: "cloud", windowClosesAt: Self.now - 60)
        let send = try #require(Self.notice(try Self.rules().outputs(for: event, id: UUID())))
        #expect(send.template?.name == "mostrador_tecnico_asignado")
        #expect(send.template?.parameters == ["Ana", "Luis", "7"])
    }
}
