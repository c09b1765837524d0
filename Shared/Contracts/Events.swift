import Crypto
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
    /// The WhatsApp address to write back to (nil for web chats).
    public var recipient: String?
    /// The intake assistant is talking to the customer (it already told them the ticket number).
    public var intakeRunning: Bool?
    /// The WhatsApp channel `recipient` is reached through (`WhatsAppChannel`; absent: the seed bridge).
    public var replyChannel: String?
    /// The device or product the customer named (the classifier reads it beside the description).
    public var equipment: String?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, ticketUUID: UUID, channel: Channel, customerID: Int64, customerName: String?,
        description: String?, language: String, createdAt: Date, recipient: String? = nil, intakeRunning: Bool? = nil,
        replyChannel: String? = nil, equipment: String? = nil
    ) {
        self.equipment = equipment
        self.ticketID = ticketID
        self.ticketUUID = ticketUUID
        self.channel = channel
        self.customerID = customerID
        self.customerName = customerName
        self.description = description
        self.language = language
        self.createdAt = createdAt
        self.recipient = recipient
        self.intakeRunning = intakeRunning
        self.replyChannel = replyChannel
    }
}

/// The problem description of a ticket changed (the intake collected it, or the customer added to it).
public struct TicketDescriptionUpdated: MessageContract, Equatable {
    public static let type = "ticket.description_updated"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var description: String
    public var language: String
    /// The device or product the customer named, if any.
    public var equipment: String?
    public var correlationID: String? { String(ticketID) }

    public init(ticketID: Int64, description: String, language: String, equipment: String? = nil) {
        self.equipment = equipment
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
    /// `descriptionDigest(of:)` of the description the verdict is about: a verdict on a description the ticket no
    /// longer has (one that arrives after the verdict on a newer description) is ignored. Nil from older
    /// classifiers: applied as it comes.
    public var descriptionDigest: String?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, label: TicketCategory, confidence: Double, modelVersion: String, topTerms: [String],
        descriptionDigest: String? = nil
    ) {
        self.ticketID = ticketID
        self.label = label
        self.confidence = confidence
        self.modelVersion = modelVersion
        self.topTerms = topTerms
        self.descriptionDigest = descriptionDigest
    }

    /// SHA-256 of a description's UTF-8, in lowercase hex.
    public static func descriptionDigest(of description: String) -> String {
        SHA256.hash(data: Array(description.utf8)).map { String(format: "%02x", $0) }.joined()
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
    /// Who handles the ticket now (nil: nobody yet).
    public var assignedAgentID: Int64?
    public var customerName: String?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, messageID: Int64, role: MessageRole, channel: Channel, preview: String,
        createdAt: Date, assignedAgentID: Int64? = nil, customerName: String? = nil
    ) {
        self.ticketID = ticketID
        self.messageID = messageID
        self.role = role
        self.channel = channel
        self.preview = preview
        self.createdAt = createdAt
        self.assignedAgentID = assignedAgentID
        self.customerName = customerName
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
    public var channel: Channel?
    public var recipient: String?
    public var language: String?
    public var customerName: String?
    public var assignedAgentID: Int64?
    /// The WhatsApp channel `recipient` is reached through (`WhatsAppChannel`; absent: the seed bridge).
    public var replyChannel: String?
    /// When the conversation's 24-hour customer-service window closes (Cloud API conversations only): after it,
    /// a notice must be an approved template.
    public var windowClosesAt: Date?
    /// The agent who resolved or closed it (absent: the customer or the system changed it).
    public var byAgentID: Int64?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, from: String, to: String, at: Date, channel: Channel? = nil,
        recipient: String? = nil, language: String? = nil, customerName: String? = nil,
        assignedAgentID: Int64? = nil, replyChannel: String? = nil, windowClosesAt: Date? = nil,
        byAgentID: Int64? = nil
    ) {
        self.windowClosesAt = windowClosesAt
        self.byAgentID = byAgentID
        self.ticketID = ticketID
        self.from = from
        self.to = to
        self.at = at
        self.channel = channel
        self.recipient = recipient
        self.language = language
        self.customerName = customerName
        self.assignedAgentID = assignedAgentID
        self.replyChannel = replyChannel
    }
}

/// A ticket got an agent: taken, assigned by an admin, or transferred (then `previousAgentID` is set).
public struct TicketAssigned: MessageContract, Equatable {
    public static let type = "ticket.assigned"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var agentID: Int64
    public var agentName: String
    public var previousAgentID: Int64?
    public var byAgentID: Int64?
    public var channel: Channel
    public var recipient: String?
    public var language: String
    public var customerName: String?
    /// The WhatsApp channel `recipient` is reached through (`WhatsAppChannel`; absent: the seed bridge).
    public var replyChannel: String?
    /// When the conversation's 24-hour customer-service window closes (Cloud API conversations only).
    public var windowClosesAt: Date?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, agentID: Int64, agentName: String, previousAgentID: Int64? = nil,
        byAgentID: Int64? = nil, channel: Channel, recipient: String? = nil, language: String = "es",
        customerName: String? = nil, replyChannel: String? = nil, windowClosesAt: Date? = nil
    ) {
        self.windowClosesAt = windowClosesAt
        self.ticketID = ticketID
        self.agentID = agentID
        self.agentName = agentName
        self.previousAgentID = previousAgentID
        self.byAgentID = byAgentID
        self.channel = channel
        self.recipient = recipient
        self.language = language
        self.customerName = customerName
        self.replyChannel = replyChannel
    }
}

/// A chat moved from one agent to another.
public struct ChatTransferred: MessageContract, Equatable {
    public static let type = "chat.transferred"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var fromAgentID: Int64?
    public var toAgentID: Int64
    public var toAgentName: String
    public var byAgentID: Int64
    public var customerName: String?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, fromAgentID: Int64?, toAgentID: Int64, toAgentName: String, byAgentID: Int64,
        customerName: String? = nil
    ) {
        self.ticketID = ticketID
        self.fromAgentID = fromAgentID
        self.toAgentID = toAgentID
        self.toAgentName = toAgentName
        self.byAgentID = byAgentID
        self.customerName = customerName
    }
}

/// An agent was invited to a chat (or joined it) besides the agent it is assigned to, or left it (or was removed).
public struct ChatParticipantChanged: MessageContract, Equatable {
    public static let type = "chat.participant_changed"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var agentID: Int64
    public var agentName: String
    /// true: added (invited or joined); false: left or removed.
    public var joined: Bool
    public var byAgentID: Int64
    public var channel: Channel
    public var customerName: String?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, agentID: Int64, agentName: String, joined: Bool, byAgentID: Int64, channel: Channel,
        customerName: String? = nil
    ) {
        self.ticketID = ticketID
        self.agentID = agentID
        self.agentName = agentName
        self.joined = joined
        self.byAgentID = byAgentID
        self.channel = channel
        self.customerName = customerName
    }
}

/// Who a notification is for; the api turns an audience into rows when it stores the notification.
/// On the wire: `{"kind": "available_agents" | "assigned_agent" | "agent" | "ticket_agents" |
/// "customer", "agent_id": 5}`.
public enum NotificationAudience: Codable, Sendable, Equatable {
    /// Every active agent marked available.
    case availableAgents
    /// The agent the ticket is assigned to when the notification is stored (nobody if unassigned).
    case assignedAgent
    case agent(Int64)
    /// The assigned agent and every participant of the chat when the notification is stored.
    case ticketAgents
    /// The web customer of the ticket (guest chat).
    case customer

    private enum CodingKeys: String, CodingKey {
        case kind
        case agentID
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "available_agents": self = .availableAgents
        case "assigned_agent": self = .assignedAgent
        case "agent": self = .agent(try container.decode(Int64.self, forKey: .agentID))
        case "ticket_agents": self = .ticketAgents
        case "customer": self = .customer
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container, debugDescription: "unknown audience \(other)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .availableAgents: try container.encode("available_agents", forKey: .kind)
        case .assignedAgent: try container.encode("assigned_agent", forKey: .kind)
        case .agent(let id):
            try container.encode("agent", forKey: .kind)
            try container.encode(id, forKey: .agentID)
        case .ticketAgents: try container.encode("ticket_agents", forKey: .kind)
        case .customer: try container.encode("customer", forKey: .kind)
        }
    }
}

/// A notification to show to agents or to a web customer.
public struct NotificationCreated: MessageContract, Equatable {
    public static let type = "notification.created"
    public static let kind = ContractKind.event
    public var ticketID: Int64
    public var audience: NotificationAudience
    /// `new_chat`, `new_message`, `chat_assigned`, `chat_transferred`, `delivery_failed`, `agent_joined`…
    public var kind: String
    public var title: String
    public var message: String
    /// Agents not to notify (e.g. the agent whose own action caused it).
    public var excludeAgentID: Int64?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, audience: NotificationAudience, kind: String, title: String, message: String,
        excludeAgentID: Int64? = nil
    ) {
        self.ticketID = ticketID
        self.audience = audience
        self.kind = kind
        self.title = title
        self.message = message
        self.excludeAgentID = excludeAgentID
    }
}
