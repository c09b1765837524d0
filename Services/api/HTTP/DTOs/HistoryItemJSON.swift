import Foundation
import MostradorContracts

/// One entry of `historial` (seed 001). The attachment fields are there only for a file, the delivery fields only
/// for a message that goes out through WhatsApp.
struct HistoryItemJSON: Encodable, Sendable {
    let id: Int64
    /// `user`, `assistant`, `tecnico`, `system`, or `note` (a private note, shown to agents only).
    let role: String
    let content: String
    let timestamp: Date
    let type: MessageType
    let attachmentID: Int64?
    let attachmentURL: String?
    /// Present (possibly `null`) only with an attachment.
    let attachmentMime: Nullable<String>?
    let deliveryStatus: DeliveryStatus?
    let attempt: Int?
    /// Present (possibly `null`) only with a delivery status.
    let deliveryError: Nullable<String>?
    /// Only on a reply: the message it answers.
    let quoted: QuotedJSON?

    enum CodingKeys: String, CodingKey {
        case id, role, content, timestamp
        case type = "tipo"
        case attachmentID = "adjunto_id"
        case attachmentURL = "adjunto_url"
        case attachmentMime = "adjunto_tipo"
        case deliveryStatus = "estado_entrega"
        case attempt = "intento"
        case deliveryError = "error_entrega"
        case quoted = "responde_a"
    }

    init(_ message: MessageRow) {
        id = message.id
        role = message.shownRole
        content = message.content
        timestamp = message.createdAt
        type = message.type
        attachmentID = message.attachmentID
        attachmentURL = message.attachmentURL
        attachmentMime = message.attachmentID == nil ? nil : Nullable(message.attachmentMime)
        deliveryStatus = message.deliveryStatus
        attempt = message.deliveryStatus == nil ? nil : message.deliveryAttempt
        deliveryError = message.deliveryStatus == nil ? nil : Nullable(message.deliveryError)
        quoted = message.quoted.map(QuotedJSON.init)
    }
}

/// `responde_a`: the message a reply answers — its id, whose it is and the start of its text.
struct QuotedJSON: Encodable, Sendable {
    let id: Int64
    let role: MessageRole
    let content: String

    enum CodingKeys: String, CodingKey {
        case id, role
        case content = "contenido"
    }

    init(_ quoted: MessageRow.Quoted) {
        id = quoted.id
        role = quoted.role
        content = quoted.content
    }
}

extension MessageRow {
    /// Where the message's file is downloaded (`GET /attachments/{id}`).
    var attachmentURL: String? { attachmentID.map { "/attachments/\($0)" } }
}
