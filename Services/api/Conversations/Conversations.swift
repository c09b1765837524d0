import Foundation
import MostradorContracts
import MostradorSQL
import MostradorServiceKit
import MostradorStorage

/// The api's application layer: the one place that owns who may do what with a ticket (through `TicketAccess`),
/// the write rules (taking unassigned chats, closed tickets), the outbound path (message + `relay.send` in one
/// transaction, then the relay's verdict), assignment and status changes, and live signalling. Controllers parse,
/// call it and present; the repositories only persist.
struct Conversations: Sendable {
    let committer: SQLCommitter
    let tickets: Tickets
    let messages: Messages
    let live: any LivePublisher
    let outboxWakeup: Wakeup
    let deliveries: DeliveryOutcomeWaiter
    /// How long a technician's send waits for the relay's verdict.
    let sendWait: Duration
    /// The time for expiry decisions.
    let clock: WallClock
    /// How fast visitors may write.
    let rates: MessageRateLimits
    /// Reads customers' messages for the intake besides the local extractor (`MOSTRADOR_LLM_URL`; nil: local only).
    var intakeLLM: IntakeLLM?

    init(
        committer: SQLCommitter, live: any LivePublisher, deliveries: DeliveryOutcomeWaiter,
        sendWait: Duration, outboxWakeup: Wakeup, clock: WallClock = .system, rates: MessageRateLimits? = nil
    ) {
        self.rates = rates ?? MessageRateLimits(clock: clock)
        self.committer = committer
        tickets = Tickets(reader: committer.writer)
        messages = Messages(reader: committer.writer)
        self.live = live
        self.outboxWakeup = outboxWakeup
        self.deliveries = deliveries
        self.sendWait = sendWait
        self.clock = clock
    }

    // MARK: Access

    /// The ticket (number or room UUID) if `caller` may do `action` with it.
    func ticket(_ key: String, for caller: Caller?, to action: TicketAction) async throws -> TicketFacts {
        guard caller != nil else { throw ConversationProblem.unauthorized }
        guard let ticket = try await tickets.facts(key: key) else { throw ConversationProblem.notFound }
        try TicketAccess.check(action, caller: caller, ticket: ticket)
        return ticket
    }

    func ticket(id: Int64, for caller: Caller?, to action: TicketAction) async throws -> TicketFacts {
        try await ticket(String(id), for: caller, to: action)
    }

    // MARK: Writing

    /// A message as the conversation stored it.
    struct Posted: Sendable, Equatable {
        let ticketID: Int64
        let messageID: Int64
        let channel: Channel
        /// The WhatsApp number it goes to, for display.
        let phone: String?
        /// The same `client_id` was posted before: this is that message, not a new one.
        let repeated: Bool
    }

    /// `caller` writes `text` in the ticket. Agents: an unassigned chat becomes theirs when `take` (admins write
    /// anywhere without taking); WhatsApp tickets get a `relay.send` to their pinned address. Visitors: a message
    /// of the customer, within their rate (per ticket and per client `address`, the rate-limit key of the
    /// request); a refused message stores nothing, so it produces no event and no notification. A `clientID`
    /// already used in the ticket returns the earlier message (and costs no rate). `replyTo` (a message of the
    /// same ticket) is quoted: on WhatsApp through the channel's own reply, when the channel knows that message.
    /// `template` (agents, WhatsApp tickets) sends an approved template whose rendered body is `text`.
    func post(
        _ text: String, clientID: String?, by caller: Caller, in ticketID: Int64, take: Bool = true,
        address: String? = nil, replyTo: Int64? = nil, template: RelayTemplate? = nil
    ) async throws -> Posted {
        let content: String
        do {
            content = try TextRules.message(text)
        } catch {
            throw ConversationProblem.invalid(error.messageError().detail)
        }
        let rates = rates
        // A visitor over their rate is refused here, off the single writer, unless this is a resend (free).
        if let seconds = rates.wait(for: caller, address: address) {
            let resend: Int64? =
                try await clientID.asyncMap { clientID in
                    try await messages.reader.read { db in
                        try Messages.id(clientID: clientID, ticketID: ticketID, db: db)
                    }
                } ?? nil
            if resend == nil { throw ConversationProblem.tooManyMessages(retryAfter: seconds) }
        }
        let (posted, assigned) = try await committer.write { db -> (Posted, Bool) in
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { throw ConversationProblem.notFound }
            if let clientID, let existing = try Messages.id(clientID: clientID, ticketID: ticketID, db: db) {
                try TicketAccess.check(.read, caller: caller, ticket: ticket)
                return (Self.posted(ticket, existing, repeated: true), false)
            }
            try TicketAccess.check(.write, caller: caller, ticket: ticket)
            switch caller {
            case .guest:
                var message = NewMessage(role: .user, content: content, clientID: clientID)
                if let replyTo {
                    _ = try Messages.channelID(of: replyTo, ticketID: ticket.id, db: db)
                    message.replyToID = replyTo
                }
                try rates.admit(caller, address: address)
                let id = try Messages.insert(message, on: ticket, db: db)
                try Self.customerWrote(ticket, db: db)
                return (Self.posted(ticket, id, repeated: false), false)
            case .agent(let agent):
                var ticket = ticket
                var assigned = false
                if take, ticket.assignedAgentID == nil {
                    ticket = try Self.assign(ticket, from: nil, to: agent, by: agent, as: .take, db: db)
                    assigned = true
                }
                var message = NewMessage(role: .tecnico, content: content, agentID: agent.id, clientID: clientID)
                let quoted = try replyTo.map { try Messages.channelID(of: $0, ticketID: ticket.id, db: db) }
                message.replyToID = replyTo
                if template != nil, ticket.channel != .whatsapp {
                    throw ConversationProblem.invalid(
                        "Las plantillas de WhatsApp solo se envían en tickets de WhatsApp")
                }
                let id = try Self.queueOutbound(
                    message, on: ticket, db: db, replyTo: quoted ?? nil, template: template, signedBy: agent)
                return (Self.posted(ticket, id, repeated: false), assigned)
            }
        }
        if !posted.repeated {
            outboxWakeup.signal()
            live.changed(ticketID)
        }
        if assigned, let agent = caller.agent { live.send(.joined(agent, ticketID: ticketID)) }
        return posted
    }

    /// The customer-service window of a WhatsApp ticket (nil for a web chat).
    func serviceWindow(_ ticket: TicketFacts) async throws -> ServiceWindow? {
        try await messages.reader.read { db in try ServiceWindow.of(ticket, db: db) }
    }

    /// What the relay said about a technician's message within `sendWait`.
    struct DeliveryOutcome: Sendable {
        let status: DeliveryStatus?
        let reason: String?
    }

    func outcome(of posted: Posted) async throws -> DeliveryOutcome {
        var reason: String?
        let status = try await deliveries.outcome(messageID: posted.messageID, timeout: sendWait) {
            let row = try await messages.delivery(messageID: posted.messageID)
            reason = row?.error
            return row?.status
        }
        return DeliveryOutcome(status: status, reason: reason)
    }

    /// A file `caller` uploaded becomes their message, with its events like any other: a technician's file on a
    /// WhatsApp ticket goes to the customer through the relay. With `limits`, a ticket that already holds
    /// `filesPerTicket` files, or would pass `bytesPerTicket`, is refused in the same transaction.
    /// `caller` adds a file to the ticket. A technician's file on a WhatsApp ticket goes to the customer with its
    /// bytes (`bytes`, the content of `file`) and `caption`; a visitor's stays in the chat.
    func attach(
        _ file: StoredAttachment, bytes: Data? = nil, caption: String? = nil, by caller: Caller, in ticketID: Int64,
        limits: UploadGrants.Limits? = nil
    ) async throws -> Int64 {
        // The caption is the message's text, as for a customer's photo; without one, what the file is.
        let content =
            caption ?? file.filename.map { "📎 \($0)" } ?? (file.mime.hasPrefix("image/") ? "📷 Foto" : "📎 Archivo")
        let id = try await committer.write { db -> Int64 in
            guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { throw ConversationProblem.notFound }
            try TicketAccess.check(.upload, caller: caller, ticket: ticket)
            if let limits {
                try Self.checkQuota(
                    AttachmentStore.usage(ticketID: ticketID, db: db), adding: file.size, limits: limits)
            }
            var message = NewMessage(role: .user, content: content, type: MessageType(mime: file.mime))
            message.attachment = file
            message.caption = caption
            guard let agent = caller.agent else { return try Messages.insert(message, on: ticket, db: db) }
            message.role = .tecnico
            message.agentID = agent.id
            let outgoing = bytes.map { RelayAttachment(mime: file.mime, filename: file.filename, data: $0) }
            return try Self.queueOutbound(message, on: ticket, db: db, file: outgoing, signedBy: agent)
        }
        outboxWakeup.signal()
        live.send(LiveEvent(ticketID: ticketID, kind: .fileUploaded, messageID: id))
        return id
    }

    /// Refuses a file that would take a ticket past its attachment quota (`size` 0: is there room for any file).
    static func checkQuota(_ usage: (files: Int, bytes: Int), adding size: Int, limits: UploadGrants.Limits) throws {
        guard usage.files < limits.filesPerTicket else {
            throw ConversationProblem.fileQuota(limit: limits.filesPerTicket)
        }
        guard usage.bytes + size <= limits.bytesPerTicket else {
            throw ConversationProblem.byteQuota(limit: limits.bytesPerTicket)
        }
    }

    /// Stores an outbound message (technician, assistant or system notice to the customer) and, for WhatsApp
    /// tickets, the `relay.send` that delivers it to the ticket's pinned address — inside the caller's transaction.
    /// `file` goes with it (the message's text is then its caption); `replyTo` is the channel's id of the message
    /// it answers. `signedBy`: the technician who wrote it, named on WhatsApp when the chat has several (`signed`).
    static func queueOutbound(
        _ message: NewMessage, on ticket: TicketFacts, db: Database, file: RelayAttachment? = nil,
        replyTo: String? = nil, template: RelayTemplate? = nil, signedBy agent: Agent? = nil
    ) throws -> Int64 {
        guard ticket.status != .closed else { throw ConversationProblem.closed }
        var message = message
        let viaWhatsApp = ticket.channel == .whatsapp
        if viaWhatsApp {
            guard ticket.replyAddress != nil else { throw ConversationProblem.noWhatsAppAddress }
            message.deliveryStatus = .queued
        }
        let id = try Messages.insert(message, on: ticket, db: db)
        if message.role == .tecnico { try Tickets.recordHumanReply(ticketID: ticket.id, db: db) }
        if viaWhatsApp, let address = ticket.replyAddress {
            let text = file == nil ? message.content : (message.caption ?? "")
            try Outbox.add(
                RelaySend(
                    ticketID: ticket.id, messageID: id, recipient: address,
                    text: template == nil ? signed(text, by: agent, in: ticket) : text, channel: ticket.replyChannel,
                    attachment: file, replyTo: replyTo, template: template),
                in: db)
        }
        return id
    }

    private static func posted(_ ticket: TicketFacts, _ id: Int64, repeated: Bool) -> Posted {
        Posted(
            ticketID: ticket.id, messageID: id, channel: ticket.channel,
            phone: ticket.replyAddress.flatMap { try? SenderAddress($0).display }, repeated: repeated)
    }

    // MARK: Read marks

    /// Reading a conversation marks the other side's messages read.
    func markRead(_ ticket: TicketFacts, by caller: Caller) async throws {
        try await committer.write { db in try Messages.markRead(ticketID: ticket.id, by: ReaderSide(caller), db: db) }
    }

    /// Marks messages read, all of which must be in tickets `caller` may read; only the other side's count.
    func markRead(messages ids: [Int64], by caller: Caller, within ticket: TicketFacts? = nil) async throws -> Int {
        let owners = try await messages.tickets(ofMessages: ids)
        if let ticket {
            guard owners.isSubset(of: [ticket.id]) else {
                throw ConversationProblem.invalid("Hay mensajes de otro ticket")
            }
        } else {
            guard !owners.isEmpty else { throw APIError.notFound("Mensaje no encontrado") }
            for owner in owners { _ = try await self.ticket(id: owner, for: caller, to: .read) }
        }
        return try await committer.write { db in try Messages.markRead(ids: ids, by: ReaderSide(caller), db: db) }
    }
}
