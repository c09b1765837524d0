import Foundation
import MostradorContracts

/// A message as seed 003 shows it (`autor`, `contenido`, `tipo`, `estado`, `archivos`) plus the seed 001 fields the
/// panel already renders (`role`, `content`, `timestamp`, `estado_entrega`). System notes are `tipo: "SISTEMA"`.
/// Used by the WebSocket frames and by `GET …/chat/historial`.
struct LiveMessageJSON: Encodable, Sendable {
    struct Author: Encodable, Sendable {
        /// `agente-{id}` for a technician, `cliente` for the customer, `null` otherwise.
        @Nullable var id: String?
        let name: String
        let kind: String

        enum CodingKeys: String, CodingKey {
            case id
            case name = "nombre"
            case kind = "tipo"
        }
    }

    struct File: Encodable, Sendable {
        let url: String
        @Nullable var mime: String?

        enum CodingKeys: String, CodingKey {
            case url
            case mime = "tipo_mime"
        }
    }

    let id: Int64
    let timestamp: Date
    let author: Author
    let text: String
    let kind: String
    let state: String
    /// As `HistoryItemJSON.role` (`note` for a private note, pushed to agents only, `tipo: "NOTA"`).
    let role: String
    let content: String
    @Nullable var clientID: String?
    @Nullable var deliveryStatus: DeliveryStatus?
    @Nullable var deliveryError: String?
    let attempt: Int
    let files: [File]
    /// Only with a file.
    let attachmentURL: String?
    /// Only on a reply.
    let quoted: QuotedJSON?

    enum CodingKeys: String, CodingKey {
        case id, timestamp, role, content
        case author = "autor"
        case text = "contenido"
        case kind = "tipo"
        case state = "estado"
        case clientID = "client_id"
        case deliveryStatus = "estado_entrega"
        case deliveryError = "error_entrega"
        case attempt = "intento"
        case files = "archivos"
        case attachmentURL = "adjunto_url"
        case quoted = "responde_a"
    }

    init(_ message: MessageRow) {
        let who: (kind: String, name: String) =
            switch message.role {
            case .user: ("CLIENTE", message.customerName ?? "Cliente")
            case .tecnico: ("AGENTE", message.agentName ?? "Técnico")
            case .assistant: ("ASISTENTE", "Asistente")
            case .system: ("SISTEMA", "Sistema")
            }
        id = message.id
        timestamp = message.createdAt
        author = Author(
            id: message.agentID.map { "agente-\($0)" } ?? (message.role == .user ? "cliente" : nil),
            name: who.name, kind: who.kind)
        text = message.content
        kind =
            switch (message.role, message.type) {
            case (.system, _): "SISTEMA"
            case _ where message.isNote: "NOTA"
            case (_, .image): "IMAGEN"
            case (_, .file): "ARCHIVO"
            case (_, .text): "TEXTO"
            }
        state =
            switch message.deliveryStatus {
            case nil: message.readAt == nil ? "ENTREGADO" : "LEIDO"
            case .failed: "ERROR"
            case .queued, .retrying, .waitingBridge: "ENVIANDO"
            case .read: "LEIDO"
            case .sent, .delivered: "ENTREGADO"
            }
        role = message.shownRole
        content = message.content
        clientID = message.clientID
        deliveryStatus = message.deliveryStatus
        deliveryError = message.deliveryError
        attempt = message.deliveryAttempt
        attachmentURL = message.attachmentURL
        files = attachmentURL.map { [File(url: $0, mime: message.attachmentMime)] } ?? []
        quoted = message.quoted.map(QuotedJSON.init)
    }
}
