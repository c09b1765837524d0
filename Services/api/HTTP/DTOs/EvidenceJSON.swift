import Foundation
import Hummingbird

/// One photo or file of `GET /ticket/{id}/evidencias`.
struct EvidenceJSON: Encodable, Sendable {
    let id: Int64
    @Nullable var messageID: Int64?
    let mime: String
    let size: Int
    @Nullable var name: String?
    @Nullable var caption: String?
    let sha256: String
    let url: String
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, caption, sha256, url
        case messageID = "mensaje_id"
        case mime = "tipo"
        case size = "tamano"
        case name = "nombre"
        case createdAt = "created_at"
    }

    init(_ row: AttachmentStore.Row) {
        id = row.id
        messageID = row.messageID
        mime = row.mime
        size = row.size
        name = row.filename
        caption = row.caption
        sha256 = row.sha256
        url = "/attachments/\(row.id)"
        createdAt = row.createdAt
    }
}

/// `GET /ticket/{id}/evidencias`.
struct EvidenceListJSON: ResponseEncodable, Sendable {
    let ticketID: Int64
    let evidence: [EvidenceJSON]

    enum CodingKeys: String, CodingKey {
        case ticketID = "ticket_id"
        case evidence = "evidencias"
    }
}
