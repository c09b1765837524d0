import Foundation

/// Send a text to a customer over WhatsApp (consumed by `bridge-relay`).
public struct RelaySend: MessageContract, Equatable {
    public static let type = "relay.send"
    public static let kind = ContractKind.command
    public var ticketID: Int64
    /// The stored message this delivers; delivery reports refer to it.
    public var messageID: Int64
    /// Normalised phone number (E.164 without `+`) or a `…@lid` identity.
    public var recipient: String
    public var text: String
    /// The WhatsApp channel the conversation came through (`WhatsAppChannel`); absent: the seed bridge, as before.
    public var channel: String?
    public var correlationID: String? { String(ticketID) }

    public init(ticketID: Int64, messageID: Int64, recipient: String, text: String, channel: String? = nil) {
        self.ticketID = ticketID
        self.messageID = messageID
        self.recipient = recipient
        self.text = text
        self.channel = channel
    }
}

/// The WhatsApp channels Mostrador speaks. A conversation answers through the channel it came from.
public enum WhatsAppChannel: String, Codable, Sendable, CaseIterable {
    /// The seed's bridge protocol (`POST /webhook` in, `POST /enviar-mensaje` out).
    case seedBridge = "seed"
    /// Meta's WhatsApp Cloud API (`POST /webhooks/whatsapp-cloud` in, Graph `/{phone-number-id}/messages` out).
    case cloudAPI = "cloud"
    /// WAHA, a self-hosted WhatsApp HTTP API (`POST /webhooks/waha` in, `/api/sendText` out).
    case waha
    /// Evolution API v2, a self-hosted gateway (`POST /webhooks/evolution` in, `/message/sendText/{instance}` out).
    case evolution

    /// A command's channel: absent means the seed bridge (commands written before channels existed).
    public init?(command value: String?) {
        self.init(rawValue: value ?? WhatsAppChannel.seedBridge.rawValue)
    }
}
