import Foundation
import Hummingbird

/// `GET /api/soporte/tickets/{id}/chat/historial` (seed 003): a page of messages, oldest first.
struct HistoryPageJSON: ResponseEncodable, Sendable {
    let ticketID: Int64
    let messages: [LiveMessageJSON]
    let page: Int
    let size: Int
    let total: Int
    let totalPages: Int
    let hasNext: Bool

    enum CodingKeys: String, CodingKey {
        case page, size, total
        case ticketID = "ticket_id"
        case messages = "mensajes"
        case totalPages = "total_pages"
        case hasNext = "has_next"
    }

    init(ticketID: Int64, messages: [MessageRow], page: Parameters.Page, total: Int) {
        self.ticketID = ticketID
        self.messages = messages.map(LiveMessageJSON.init)
        self.page = page.number
        size = page.size
        self.total = total
        totalPages = page.pages(total: total)
        hasNext = page.number < totalPages
    }
}

/// `POST /api/soporte/tickets/{id}/chat/sync` (seed 003): what was stored and what was refused, by `client_id`.
struct SyncResultJSON: ResponseEncodable, Sendable {
    struct Synced: Encodable, Sendable {
        let clientID: String
        let messageID: Int64
        let repeated: Bool

        enum CodingKeys: String, CodingKey {
            case clientID = "client_id"
            case messageID = "mensaje_id"
            case repeated = "duplicado"
        }
    }

    struct Refused: Encodable, Sendable {
        @Nullable var clientID: String?
        let error: String

        enum CodingKeys: String, CodingKey {
            case error
            case clientID = "client_id"
        }
    }

    var synced: [Synced] = []
    var errors: [Refused] = []

    enum CodingKeys: String, CodingKey {
        case synced = "sincronizados"
        case errors = "errores"
    }
}

/// `POST /api/soporte/tickets/{id}/chat/mark-read` (seed 003).
struct MarkedReadJSON: ResponseEncodable, Sendable {
    let marked: Int

    enum CodingKeys: String, CodingKey { case marked = "marcados" }
}

/// `POST /api/soporte/tickets/{id}/chat/upload` (seed 003): the stored file's message.
struct UploadJSON: ResponseEncodable, Sendable {
    let messageID: Int64
    let mime: String
    let size: Int
    @Nullable var name: String?

    enum CodingKeys: String, CodingKey {
        case messageID = "mensaje_id"
        case mime = "tipo_mime"
        case size = "tamano"
        case name = "nombre"
    }
}
