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
    public var correlationID: String? { String(ticketID) }

    public init(ticketID: Int64, messageID: Int64, recipient: String, text: String) {
        self.ticketID = ticketID
        self.messageID = messageID
        self.recipient = recipient
        self.text = text
    }
}
