import Foundation

/// Where a conversation happens.
public enum Channel: String, Codable, Sendable {
    case whatsapp
    case web
}

/// Hardware/Software label of a ticket.
public enum TicketCategory: String, Codable, Sendable, CaseIterable {
    case hardware = "Hardware"
    case software = "Software"
    case unknown
}

/// Who wrote a message, as the seed's `historial` names them.
public enum MessageRole: String, Codable, Sendable {
    case user
    case assistant
    case tecnico
    case system
}

/// A ticket was opened (first message of a customer, or a new problem after the last ticket closed).
public struct TicketCreated: MessageContract, Equatable {
    public static let type = "ticket.created"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var ticketUUID: UUID
    public var channel: Channel
    public var customerID: Int64
    public var customerName: String?
    public var description: String?
    public var language: String
    public var createdAt: Date
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, ticketUUID: UUID, channel: Channel, customerID: Int64, customerName: String?,
        description: String?, language: String, createdAt: Date
    ) {
        self.ticketID = ticketID
        self.ticketUUID = ticketUUID
        self.channel = channel
        self.customerID = customerID
        self.customerName = customerName
        self.description = description
        self.language = language
        self.createdAt = createdAt
    }
}

/// The problem description of a ticket changed (the intake collected it, or the customer added to it).
public struct TicketDescriptionUpdated: MessageContract, Equatable {
    public static let type = "ticket.description_updated"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var description: String
    public var language: String
    public var correlationID: String? { String(ticketID) }

    public init(ticketID: Int64, description: String, language: String) {
        self.ticketID = ticketID
        self.description = description
        self.language = language
    }
}

/// The classifier's verdict on a ticket.
public struct TicketClassified: MessageContract, Equatable {
    public static let type = "ticket.classified"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var label: TicketCategory
    public var confidence: Double
    public var modelVersion: String
    public var topTerms: [String]
    public var correlationID: String? { String(ticketID) }

    public init(ticketID: Int64, label: TicketCategory, confidence: Double, modelVersion: String, topTerms: [String]) {
        self.ticketID = ticketID
        self.label = label
        self.confidence = confidence
        self.modelVersion = modelVersion
        self.topTerms = topTerms
    }
}

/// A message was stored in a conversation.
public struct MessageCreated: MessageContract, Equatable {
    public static let type = "message.created"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var messageID: Int64
    public var role: MessageRole
    public var channel: Channel
    public var preview: String
    public var createdAt: Date
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, messageID: Int64, role: MessageRole, channel: Channel, preview: String,
        createdAt: Date
    ) {
        self.ticketID = ticketID
        self.messageID = messageID
        self.role = role
        self.channel = channel
        self.preview = preview
        self.createdAt = createdAt
    }
}

/// What became of an outbound message: the truth a technician sees next to it.
public enum DeliveryStatus: String, Codable, Sendable {
    case queued
    case sent
    case delivered
    case read
    case retrying
    case waitingBridge = "waiting_bridge"
    case failed
}

/// The relay's report on an outbound message.
public struct DeliveryUpdated: MessageContract, Equatable {
    public static let type = "delivery.updated"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var messageID: Int64
    public var status: DeliveryStatus
    public var attempt: Int
    public var reason: String?
    public var providerMessageID: String?
    public var at: Date
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, messageID: Int64, status: DeliveryStatus, attempt: Int = 0, reason: String? = nil,
        providerMessageID: String? = nil, at: Date = Date()
    ) {
        self.ticketID = ticketID
        self.messageID = messageID
        self.status = status
        self.attempt = attempt
        self.reason = reason
        self.providerMessageID = providerMessageID
        self.at = at
    }
}

/// A ticket moved between `new`, `open`, `waiting`, `resolved` and `closed`.
public struct TicketStatusChanged: MessageContract, Equatable {
    public static let type = "ticket.status_changed"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var from: String
    public var to: String
    public var at: Date
    public var correlationID: String? { String(ticketID) }

    public init(ticketID: Int64, from: String, to: String, at: Date) {
        self.ticketID = ticketID
        self.from = from
        self.to = to
        self.at = at
    }
}
