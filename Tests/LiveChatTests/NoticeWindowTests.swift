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

/// Resolving and closing tell the customer (a WhatsApp notice or the web chat's notification) and the chat's
/// technicians (its owner and participants: `ticket_agents`), except the one who did it.
@Suite("Resolve and close notices")
struct ClosingNoticeTests {
    static func event(to status: String, channel: Channel, by agent: Int64?) -> TicketStatusChanged {
        TicketStatusChanged(
            ticketID: 9, from: "open", to: status, at: Date(), channel: channel,
            recipient: channel == .whatsapp ? "5215550001111" : nil, language: "es", customerName: "Ana",
            assignedAgentID: 3, byAgentID: agent)
    }

    static func describe(_ outputs: [NotificationRules.Output]) -> [String] {
        outputs.map { output in
            switch output {
            case .notice(let send, _): "whatsapp:\(send.recipient):\(send.text.contains("#9"))"
            case .notification(let created, _):
                "\(created.audience):\(created.kind)" + (created.excludeAgentID.map { " but \($0)" } ?? "")
            }
        }
    }

    @Test func closingAWhatsAppTicketSendsTheNoticeAndTellsTheChatsTechnicians() throws {
        let rules = NotificationRules(templates: try NoticeTemplates.load(path: nil))
        let closedByAdmin = Self.describe(
            rules.outputs(for: Self.event(to: "closed", channel: .whatsapp, by: 1), id: UUID()))
        #expect(closedByAdmin == ["whatsapp:5215550001111:true", "ticketAgents:chat_closed but 1"])
        // The owner closing it themselves is not told about it (the api leaves them out of `ticket_agents`);
        // the chat's participants are.
        let closedByOwner = Self.describe(
            rules.outputs(for: Self.event(to: "closed", channel: .whatsapp, by: 3), id: UUID()))
        #expect(closedByOwner == ["whatsapp:5215550001111:true", "ticketAgents:chat_closed but 3"])
        let sends = rules.outputs(for: Self.event(to: "closed", channel: .whatsapp, by: 3), id: UUID())
        guard case .notice(let send, _) = sends.first else {
            Issue.record("no notice")
            return
        }
        #expect(send.text.contains("cerramos tu ticket"))
    }

    @Test func resolvingOrClosingAWebChatNotifiesTheVisitor() throws {
        let rules = NotificationRules(templates: try NoticeTemplates.load(path: nil))
        #expect(
            Self.describe(rules.outputs(for: Self.event(to: "resolved", channel: .web, by: 3), id: UUID()))
                == ["customer:chat_resolved", "ticketAgents:chat_resolved but 3"])
        #expect(
            Self.describe(rules.outputs(for: Self.event(to: "closed", channel: .web, by: 2), id: UUID()))
                == ["customer:chat_closed", "ticketAgents:chat_closed but 2"])
        // Reopening tells nobody.
        #expect(rules.outputs(for: Self.event(to: "open", channel: .web, by: nil), id: UUID()).isEmpty)
    }
}
