import Foundation
import MostradorContracts

/// What the notifier says about each event: pure rules, no state. Every output's message id is derived from the
/// event's, so handling an event twice (a redelivery, a restart, two instances) publishes the same ids, which the
/// api (`processed_messages`) and the relay (its ledger) recognise and drop.
struct NotificationRules: Sendable {
    let templates: NoticeTemplates
    /// The time a notice is decided at (a Cloud API window may have closed since the event).
    var now: @Sendable () -> Date = { Date() }

    /// A message to publish, with its derived id.
    enum Output: Sendable, Equatable {
        case notification(NotificationCreated, id: UUID)
        case notice(RelaySend, id: UUID)
    }

    static func values(ticket: Int64, name: String?, language: String?) -> [String: String] {
        ["ticket": String(ticket), "nombre": name ?? (language == "en" ? "customer" : "cliente")]
    }

    func agentNotification(
        _ kind: String, ticket: Int64, audience: NotificationAudience, values: [String: String],
        exclude: Int64? = nil, source: UUID
    ) -> Output? {
        templates.agent(kind, values: values).map {
            .notification(
                NotificationCreated(
                    ticketID: ticket, audience: audience, kind: kind, title: $0.title, message: $0.message,
                    excludeAgentID: exclude),
                id: DerivedID.make(from: source, "agents:\(kind)"))
        }
    }

    func customerNotification(_ kind: String, ticket: Int64, values: [String: String], source: UUID) -> Output? {
        templates.customer(kind, values: values).map {
            .notification(
                NotificationCreated(
                    ticketID: ticket, audience: .customer, kind: kind, title: $0.title, message: $0.message),
                id: DerivedID.make(from: source, "customer:\(kind)"))
        }
    }

    /// A WhatsApp notice to the customer. In a Cloud API conversation whose 24-hour window has closed
    /// (`windowClosesAt` passed) only an approved template is delivered: the notice goes as the Meta template
    /// configured for it (`plantillas_meta`), or not at all when there is none (Meta would refuse it, 131047).
    func notice(
        _ name: String, ticket: Int64, recipient: String?, channel: String?, language: String?,
        values: [String: String], source: UUID, windowClosesAt: Date? = nil
    ) -> Output? {
        guard let recipient, let text = templates.whatsapp(name, language: language ?? "es", values: values) else {
            return nil
        }
        var template: RelayTemplate?
        if let windowClosesAt, windowClosesAt <= now() {
            guard let meta = templates.metaTemplate(name, language: language ?? "es", values: values) else {
                return nil
            }
            template = meta
        }
        // Message 0: a notice is not a stored conversation message; the relay still sends it once.
        return .notice(
            RelaySend(
                ticketID: ticket, messageID: 0, recipient: recipient, text: text, channel: channel, template: template),
            id: DerivedID.make(from: source, "whatsapp:\(name)"))
    }

    func outputs(for event: TicketCreated, id: UUID) -> [Output] {
        let values = Self.values(ticket: event.ticketID, name: event.customerName, language: event.language)
        var outputs = [
            agentNotification(
                "new_chat", ticket: event.ticketID, audience: .availableAgents, values: values, source: id)
        ]
        // With the intake assistant talking, the customer already has their ticket number.
        if event.channel == .whatsapp, event.intakeRunning != true {
            outputs.append(
                notice(
                    "ticket_recibido", ticket: event.ticketID, recipient: event.recipient, channel: event.replyChannel,
                    language: event.language,
                    values: values, source: id))
        }
        return outputs.compactMap { $0 }
    }

    func outputs(for event: MessageCreated, id: UUID) -> [Output] {
        let values = Self.values(ticket: event.ticketID, name: event.customerName, language: nil)
        switch event.role {
        case .user:
            // The assigned agent and everyone invited to the chat.
            guard event.assignedAgentID != nil else { return [] }
            return [
                agentNotification(
                    "new_message", ticket: event.ticketID, audience: .ticketAgents, values: values, source: id)
            ]
            .compactMap { $0 }
        case .tecnico where event.channel == .web:
            return [customerNotification("new_message", ticket: event.ticketID, values: values, source: id)].compactMap
            { $0 }
        default:
            return []
        }
    }

    func outputs(for event: TicketAssigned, id: UUID) -> [Output] {
        var values = Self.values(ticket: event.ticketID, name: event.customerName, language: event.language)
        values["agente"] = event.agentName
        var outputs: [Output?] = []
        // An agent who took the chat themselves needs no notification about it.
        if event.byAgentID != event.agentID, event.previousAgentID == nil {
            outputs.append(
                agentNotification(
                    "chat_assigned", ticket: event.ticketID, audience: .agent(event.agentID), values: values, source: id
                ))
        }
        switch event.channel {
        case .web:
            outputs.append(customerNotification("agent_joined", ticket: event.ticketID, values: values, source: id))
        case .whatsapp:
            outputs.append(
                notice(
                    "tecnico_asignado", ticket: event.ticketID, recipient: event.recipient, channel: event.replyChannel,
                    language: event.language,
                    values: values, source: id, windowClosesAt: event.windowClosesAt))
        }
        return outputs.compactMap { $0 }
    }

    func outputs(for event: ChatTransferred, id: UUID) -> [Output] {
        let values = Self.values(ticket: event.ticketID, name: event.customerName, language: nil)
        return [
            agentNotification(
                "chat_transferred", ticket: event.ticketID, audience: .agent(event.toAgentID), values: values,
                exclude: event.byAgentID == event.toAgentID ? event.toAgentID : nil, source: id)
        ].compactMap { $0 }
    }

    /// Resolved or closed: the customer is told (a WhatsApp notice, or the web chat's notification), and so is the
    /// assigned agent when someone else did it.
    func outputs(for event: TicketStatusChanged, id: UUID) -> [Output] {
        let names: (web: String, whatsapp: String, agents: String)
        switch event.to {
        case "resolved": names = ("chat_resolved", "ticket_resuelto", "chat_resolved")
        case "closed": names = ("chat_closed", "ticket_cerrado", "chat_closed")
        default: return []
        }
        let values = Self.values(ticket: event.ticketID, name: event.customerName, language: event.language)
        var outputs: [Output?] = []
        switch event.channel {
        case .web:
            outputs.append(customerNotification(names.web, ticket: event.ticketID, values: values, source: id))
        case .whatsapp, nil:
            outputs.append(
                notice(
                    names.whatsapp, ticket: event.ticketID, recipient: event.recipient, channel: event.replyChannel,
                    language: event.language, values: values, source: id, windowClosesAt: event.windowClosesAt))
        }
        // The chat's agents (assigned and invited) but the one who did it.
        if event.assignedAgentID != nil {
            outputs.append(
                agentNotification(
                    names.agents, ticket: event.ticketID, audience: .ticketAgents, values: values,
                    exclude: event.byAgentID, source: id))
        }
        return outputs.compactMap { $0 }
    }

    /// An agent invited to a chat (or removed from it) by someone else is told; a web customer sees who joined or
    /// left (on WhatsApp, the technicians' messages carry their names once a chat has several).
    func outputs(for event: ChatParticipantChanged, id: UUID) -> [Output] {
        var values = Self.values(ticket: event.ticketID, name: event.customerName, language: nil)
        values["agente"] = event.agentName
        var outputs: [Output?] = []
        if event.byAgentID != event.agentID {
            outputs.append(
                agentNotification(
                    event.joined ? "chat_invited" : "chat_removed", ticket: event.ticketID,
                    audience: .agent(event.agentID), values: values, source: id))
        }
        if event.channel == .web {
            outputs.append(
                customerNotification(
                    event.joined ? "agent_joined" : "agent_left", ticket: event.ticketID, values: values, source: id))
        }
        return outputs.compactMap { $0 }
    }

    func outputs(for event: DeliveryUpdated, id: UUID) -> [Output] {
        guard event.status == .failed, event.messageID != 0 else { return [] }
        var values = Self.values(ticket: event.ticketID, name: nil, language: nil)
        values["motivo"] = event.reason ?? "sin motivo"
        return [
            agentNotification(
                "delivery_failed", ticket: event.ticketID, audience: .assignedAgent, values: values, source: id)
        ].compactMap { $0 }
    }
}
