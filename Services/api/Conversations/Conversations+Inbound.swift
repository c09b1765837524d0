import Foundation
import MostradorContracts
import MostradorSQL
import MostradorServiceKit

extension Conversations {
    /// A message a WhatsApp channel delivered: its sender is verified by the channel.
    struct Inbound: Sendable {
        /// The address replies go to (the phone when the channel gave one).
        var sender: SenderAddress
        /// Another identity the channel vouches for in the same message (the Cloud API's BSUID beside the phone).
        var alias: SenderAddress? = nil
        /// The channel it came through (`WhatsAppChannel`; nil: the seed bridge), which replies go back through.
        var channel: String? = nil
        var content: String
        /// The push name the channel reports (a hint, used only while the customer has no name).
        var name: String?
        var externalID: String?
        var externalTimestamp: Date?
        /// The channel's id of the message the customer answered (quoted), when they replied to one.
        var replyTo: String? = nil
        /// Photo evidence already written to the attachment store; `content` is then its caption.
        var attachment: StoredAttachment?
        /// How many new tickets this sender may still open (nil: no cap).
        var newTicketCap: NewTicketCap?

        /// What the optional LLM read in `content` for the intake (validated), read before the transaction.
        var intakeFacts: IntakeFacts?

        /// The intake's reader for this message: the local extractor, with the LLM's fields over it.
        var intakeReader: IntakeBot.Reader {
            let (content, llm) = (content, intakeFacts)
            return { text, asked in
                IntakeExtractor.facts(in: text, asked: asked).overlaid(with: text == content ? llm : nil)
            }
        }

        var intakeInput: IntakeBot.Input {
            attachment == nil ? .text(content) : .image(caption: content.isEmpty ? nil : content)
        }
    }

    struct Received: Sendable, Equatable {
        let ticketID: Int64
        let messageID: Int64
        let ticketCreated: Bool
        /// The channel had delivered this message id before: nothing new was stored.
        let duplicate: Bool
    }

    /// Stores an inbound message on the customer's open WhatsApp ticket (opening one when there is none,
    /// reopening a resolved one), runs the intake assistant, and pins the ticket's reply address to the verified
    /// address it came from — in one transaction.
    func receive(_ inbound: Inbound, intake: Bool) async throws -> Received {
        var inbound = inbound
        // The LLM reads the message outside the transaction, and only while the intake is talking to the sender.
        let sender = inbound.sender
        if intake, let llm = intakeLLM, !inbound.content.isEmpty,
            try await messages.reader.read({ db in try IntakeStep.reads(from: sender, db: db) })
        {
            inbound.intakeFacts = await llm.read(inbound.content)
        }
        let received = try await committer.write { [inbound] db in try Self.receive(inbound, intake: intake, db: db) }
        if !received.duplicate {
            outboxWakeup.signal()
            live.changed(received.ticketID)
        }
        return received
    }

    static func receive(_ inbound: Inbound, intake: Bool, db: Database) throws -> Received {
        if let externalID = inbound.externalID, let earlier = try Messages.inbound(externalID: externalID, db: db) {
            return Received(
                ticketID: earlier.ticketID, messageID: earlier.messageID, ticketCreated: false, duplicate: true)
        }
        let customerID = try Customers.verified(inbound.sender, alias: inbound.alias, pushName: inbound.name, db: db)
        var reaction: IntakeBot.Reaction?
        let ticket: TicketFacts
        let created: Bool
        if let open = try Tickets.openWhatsApp(customerID: customerID, db: db) {
            try Tickets.pinReplyAddress(inbound.sender.address, channel: inbound.channel, ticketID: open.id, db: db)
            ticket = try TicketFacts.fetch(id: open.id, db: db)!
            created = false
            // The answer to the satisfaction survey of a resolved ticket: stored, thanked, not reopening it.
            if ticket.status == .resolved, inbound.attachment == nil,
                let answer = Satisfaction.parse(inbound.content), try Satisfaction.pending(ticketID: ticket.id, db: db)
            {
                let messageID = try Messages.insert(
                    NewMessage(
                        role: .user, content: inbound.content, externalID: inbound.externalID,
                        externalTimestamp: inbound.externalTimestamp), on: ticket, db: db)
                _ = try Satisfaction.answer(
                    ticketID: ticket.id, rating: answer.rating, comment: answer.comment, now: Date(), db: db)
                let thanks = Satisfaction.thanks[ticket.language] ?? Satisfaction.thanks["es"] ?? ""
                _ = try Conversations.queueOutbound(NewMessage(role: .assistant, content: thanks), on: ticket, db: db)
                return Received(ticketID: ticket.id, messageID: messageID, ticketCreated: false, duplicate: false)
            }
            if intake {
                reaction = try IntakeStep.next(
                    inbound.intakeInput, ticketID: ticket.id, db: db, read: inbound.intakeReader)
            }
        } else {
            try inbound.newTicketCap?.check(customerID: customerID, db: db)
            let language = IntakeBot.language(of: inbound.content)
            var draft = Tickets.Draft(
                customerID: customerID, channel: .whatsapp, language: language, replyAddress: inbound.sender.address,
                replyChannel: inbound.channel)
            let fresh = try Tickets.create(draft, db: db)
            let context = IntakeBot.Context(
                ticketID: fresh.id, customerName: fresh.customerName, description: nil, equipment: nil,
                language: language)
            // Without the assistant, the first message is the description.
            reaction = intake ? IntakeBot.start(inbound.intakeInput, context: context, read: inbound.intakeReader) : nil
            draft.description = intake ? reaction?.description : inbound.content
            if let description = draft.description {
                try db.execute(
                    sql: "UPDATE tickets SET description = ? WHERE id = ?", arguments: [description, fresh.id])
            }
            // The event carries what the first message said; `apply` stores the rest without announcing it again.
            reaction?.description = nil
            let equipment = reaction?.equipment
            if let equipment {
                try db.execute(sql: "UPDATE tickets SET equipment = ? WHERE id = ?", arguments: [equipment, fresh.id])
                reaction?.equipment = nil
            }
            try Outbox.add(
                TicketCreated(
                    ticketID: fresh.id, ticketUUID: UUID(uuidString: fresh.uuid)!, channel: .whatsapp,
                    customerID: customerID, customerName: reaction?.customerName ?? fresh.customerName,
                    description: draft.description, language: language, createdAt: Date(),
                    recipient: inbound.sender.address,
                    intakeRunning: reaction.map { !$0.state.step.isOver } ?? false,
                    replyChannel: inbound.channel, equipment: equipment),
                in: db)
            ticket = fresh
            created = true
        }
        var message = NewMessage(
            role: .user, content: inbound.content, type: inbound.attachment.map { MessageType(mime: $0.mime) } ?? .text,
            externalID: inbound.externalID, externalTimestamp: inbound.externalTimestamp)
        message.attachment = inbound.attachment
        message.caption = inbound.content
        if let replyTo = inbound.replyTo {
            message.replyToID = try Messages.quoted(channelID: replyTo, ticketID: ticket.id, db: db)
        }
        let messageID = try Messages.insert(message, on: ticket, db: db)
        try Self.customerWrote(ticket, db: db)
        try BusinessHours.customerWrote(ticket, created: created, now: Date(), db: db)
        if let reaction { try IntakeStep.apply(reaction, ticketID: ticket.id, customerID: customerID, db: db) }
        if created { try AutoAssignment.assign(ticket.id, db: db) }
        return Received(ticketID: ticket.id, messageID: messageID, ticketCreated: created, duplicate: false)
    }

    /// A channel reports that a customer's WhatsApp number changed (the Cloud API's `user_changed_number`): the new
    /// number becomes an identity of the same customer (merging, if it already was someone's), their open
    /// WhatsApp tickets that answered the old number answer the new one, and each gets a note for the technicians.
    /// False when the old number is nobody Mostrador knows.
    func numberChanged(from old: SenderAddress, to new: SenderAddress, channel: String?) async throws -> Bool {
        let changed = try await committer.write { db -> [Int64]? in
            guard try Customers.owner(of: old, db: db) != nil else { return nil }
            let customerID = try Customers.verified(new, alias: old, pushName: nil, db: db)
            let tickets = try Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM tickets
                    WHERE customer_id = ? AND channel = 'whatsapp' AND status != 'closed' AND reply_address = ?
                    """,
                arguments: [customerID, old.address])
            for ticketID in tickets {
                try Tickets.pinReplyAddress(new.address, channel: channel, ticketID: ticketID, db: db)
                guard let ticket = try TicketFacts.fetch(id: ticketID, db: db) else { continue }
                _ = try Messages.insert(
                    .note(
                        "El cliente cambió su número de WhatsApp de \(old.display) a \(new.display): las respuestas van al nuevo."
                    ), on: ticket, db: db)
            }
            return tickets
        }
        guard let changed else { return false }
        outboxWakeup.signal()
        for ticketID in changed { live.changed(ticketID) }
        return true
    }

    // MARK: Web visitors

    /// What a visitor typed about themselves (seed 002 `complete_chat`): claims, kept on their own ticket.
    struct VisitorClaims: Sendable {
        var name: String
        var email: String
        var phone: String
    }

    struct OpenedChat: Sendable {
        let roomUUID: String
        let ticketID: Int64
        /// The room token, shown once; only its SHA-256 is stored.
        let token: String
    }

    /// Step 2 of the guest flow: the visitor's details open a chat room for a customer of their own. Their email
    /// and phone are unverified claims on this ticket: they never merge into, rename or redirect another customer.
    func openGuestChat(sessionID: String, claims: VisitorClaims) async throws -> OpenedChat {
        let token = AgentStore.newToken()
        let opened = try await committer.write { db -> OpenedChat in
            let session = try GuestSessions.claimable(sessionID, now: clock.now(), db: db)
            let language = IntakeBot.language(of: session.initialMessage)
            let customerID = try Customers.visitor(name: claims.name, language: language, db: db)
            let ticket = try Tickets.create(
                Tickets.Draft(
                    customerID: customerID, channel: .web, language: language,
                    description: session.initialMessage, subject: "Chat de \(claims.name)",
                    initialMessage: session.initialMessage, claimedEmail: claims.email.lowercased(),
                    claimedPhone: claims.phone, guestTokenHash: AgentStore.digest(token)),
                db: db)
            try GuestSessions.complete(session.id, ticketID: ticket.id, db: db)
            try Outbox.add(
                TicketCreated(
                    ticketID: ticket.id, ticketUUID: UUID(uuidString: ticket.uuid)!, channel: .web,
                    customerID: customerID, customerName: claims.name, description: session.initialMessage,
                    language: language, createdAt: Date()),
                in: db)
            _ = try Messages.insert(NewMessage(role: .user, content: session.initialMessage), on: ticket, db: db)
            try BusinessHours.customerWrote(ticket, created: true, now: Date(), db: db)
            try AutoAssignment.assign(ticket.id, db: db)
            return OpenedChat(roomUUID: ticket.uuid, ticketID: ticket.id, token: token)
        }
        outboxWakeup.signal()
        live.changed(opened.ticketID)
        return opened
    }

    func startGuestSession(initialMessage: String, ip: String?, settings: APISettings) async throws -> GuestSession {
        try await committer.write { db in
            try GuestSessions.start(
                initialMessage: initialMessage, ip: ip, limit: settings.guestChatsPerIP,
                window: settings.guestChatWindow, lifetime: settings.guestSessionLifetime, now: clock.now(),
                db: db)
        }
    }

    // MARK: Results from other services

    /// A relay report, applied once (by AMQP message id); wakes the technician waiting on it.
    func applyDelivery(_ update: DeliveryUpdated, amqpMessageID: String, consumer: String) async throws {
        try await committer.write { db in
            guard try ProcessedMessages.claim(amqpMessageID, consumer: consumer, db: db) else { return }
            try Messages.applyDelivery(update, db: db)
            // Statuses the channel sent before this report gave the message its channel id.
            if let providerID = update.providerMessageID {
                _ = try Messages.applyPendingChannelStatuses(providerID: providerID, db: db)
            }
        }
        deliveries.notify(messageID: update.messageID)
        live.deliveryChanged(update.ticketID, messageID: update.messageID)
    }

    /// A status a WhatsApp channel reported (delivered, read, failed) for the message it knows as `providerID`:
    /// applied when the relay already reported the message sent, kept until then otherwise.
    func applyChannelStatus(_ status: ChannelStatus) async throws {
        let applied = try await committer.write { db in try Messages.applyChannelStatus(status, db: db) }
        if let applied {
            deliveries.notify(messageID: applied.messageID)
            live.deliveryChanged(applied.ticketID, messageID: applied.messageID)
        }
    }

    /// The classifier's label on the ticket (once per AMQP message id), noted in the conversation when it changed.
    /// `unknown` flags the ticket for a human. A verdict on a description the ticket no longer has is stale (the
    /// verdict on the newer description applies, whichever arrives first) and is ignored.
    func applyClassification(_ result: TicketClassified, amqpMessageID: String, consumer: String) async throws {
        let noted = try await committer.write { db -> Bool in
            guard try ProcessedMessages.claim(amqpMessageID, consumer: consumer, db: db),
                let ticket = try TicketFacts.fetch(id: result.ticketID, db: db),
                let previous = try Row.fetchOne(
                    db, sql: "SELECT category, category_model, description FROM tickets WHERE id = ?",
                    arguments: [result.ticketID])
            else { return false }
            if let digest = result.descriptionDigest,
                digest != (previous["description"] as String?).map(TicketClassified.descriptionDigest(of:))
            {
                return false
            }
            try db.execute(
                sql: """
                    UPDATE tickets SET category = ?, category_confidence = ?, category_model = ?, needs_review = ?,
                        updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [
                    result.label, result.confidence, result.modelVersion, result.label == .unknown, Date(),
                    result.ticketID,
                ])
            guard
                previous["category"] as String != result.label.rawValue
                    || previous["category_model"] as String? != result.modelVersion
            else { return true }
            _ = try Messages.insert(.note(Self.classificationNote(result)), on: ticket, db: db)
            return true
        }
        if noted {
            outboxWakeup.signal()
            live.changed(result.ticketID)
        }
    }

    static func classificationNote(_ result: TicketClassified) -> String {
        // The confidence comes from another service: NaN or ±∞ must not trap here (review R6).
        let percent = Int(saturating: result.confidence.clamped(to: 0...1) * 100)
        let terms = result.topTerms.isEmpty ? "" : " — términos: " + result.topTerms.prefix(5).joined(separator: ", ")
        switch result.label {
        case .unknown:
            return "Sin clasificar (confianza \(percent)%): requiere revisión de un técnico\(terms)"
        case .hardware, .software:
            return "Clasificado como \(result.label.rawValue) (confianza \(percent)%)\(terms)"
        }
    }
}
