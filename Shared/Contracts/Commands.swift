import Foundation

/// Send a text, or a file with its caption, to a customer over WhatsApp (consumed by `bridge-relay`).
public struct RelaySend: MessageContract, Equatable {
    public static let type = "relay.send"
    public static let kind = ContractKind.command
    public var ticketID: Int64
    /// The stored message this delivers; delivery reports refer to it.
    public var messageID: Int64
    /// Normalised phone number (E.164 without `+`) or a `…@lid` identity.
    public var recipient: String
    /// The text; with an attachment, its caption (may be empty).
    public var text: String
    /// The WhatsApp channel the conversation came through (`WhatsAppChannel`); absent: the seed bridge, as before.
    public var channel: String?
    /// A file to send (an image or a document), bytes included: a parked message needs nothing but itself to be
    /// sent later, whatever else is down. Absent: a text message, as before.
    public var attachment: RelayAttachment?
    /// The channel's id of the message this one answers (`context.message_id`, `reply_to`, `quoted`): the
    /// customer sees it quoted. Absent: not a reply.
    public var replyTo: String?
    /// A WhatsApp template approved by Meta (what the Cloud API lets a business send outside the 24-hour window);
    /// `text` is then its rendered body, which channels without templates send as it is.
    public var template: RelayTemplate?
    public var correlationID: String? { String(ticketID) }

    public init(
        ticketID: Int64, messageID: Int64, recipient: String, text: String, channel: String? = nil,
        attachment: RelayAttachment? = nil, replyTo: String? = nil, template: RelayTemplate? = nil
    ) {
        self.ticketID = ticketID
        self.messageID = messageID
        self.recipient = recipient
        self.text = text
        self.channel = channel
        self.attachment = attachment
        self.replyTo = replyTo
        self.template = template
    }
}

/// An approved WhatsApp template by name and language, with the values of its body's `{{1}}`, `{{2}}`…
public struct RelayTemplate: Codable, Sendable, Equatable {
    public var name: String
    /// Meta's language code (`es_MX`, `en_US`, `es`).
    public var language: String
    public var parameters: [String]

    public init(name: String, language: String, parameters: [String]) {
        self.name = name
        self.language = language
        self.parameters = parameters
    }
}

/// A file travelling with a `relay.send`. Its type was decided by its bytes when it was stored.
public struct RelayAttachment: Codable, Sendable, Equatable {
    /// `image/jpeg`, `image/png`, `application/pdf`, …
    public var mime: String
    /// The name the customer sees for a document.
    public var filename: String?
    /// The bytes (base64 in JSON).
    public var data: Data

    public init(mime: String, filename: String?, data: Data) {
        self.mime = mime
        self.filename = filename
        self.data = data
    }

    /// Images go as pictures; anything else as a document.
    public var isImage: Bool { mime.lowercased().hasPrefix("image/") }

    /// The file name to show: the stored one without any folder, or `documento`/`imagen` with the type's extension.
    public var displayName: String {
        let name = (filename ?? "").split(whereSeparator: { "/\\".contains($0) }).last.map(String.init) ?? ""
        let clean = String(name.filter { !$0.isNewline && !($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) })
            .trimmingCharacters(in: .whitespaces)
        if !clean.isEmpty { return String(clean.prefix(200)) }
        let extensions = [
            "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf",
            "application/msword": "doc",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        ]
        let base = isImage ? "imagen" : "documento"
        return extensions[mime.lowercased()].map { "\(base).\($0)" } ?? base
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
