import Foundation

/// The frames of seed 003: `{"tipo": …, "data": {…}}`.
enum LiveFrames {
    static func frame(_ tipo: String, _ data: JSONValue) -> String {
        let object: JSONValue = ["tipo": .string(tipo), "data": data]
        return (try? String(decoding: encoder.encode(object), as: UTF8.self)) ?? "{}"
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func user(_ event: LiveEvent) -> JSONValue {
        ["id": .optional(event.userID), "nombre": .optional(event.userName), "tipo": .optional(event.userKind)]
    }

    /// `agente_joined`, `agente_left` and `chat_transferred` (seed 003: `nuevo_agente`, `timestamp`,
    /// `mensaje_automatico`; the system note itself arrives as a `mensaje_recibido` too).
    static func people(_ event: LiveEvent) -> JSONValue {
        var data: [String: JSONValue] = [
            "usuario": user(event), "ticket_id": .int(event.ticketID), "timestamp": .date(Date()),
        ]
        if event.kind == .chatTransferred {
            data["nuevo_agente"] = [
                "id": .optional(event.userID), "nombre": .optional(event.userName), "tipo": "AGENTE", "online": true,
            ]
            data["agente_anterior"] = [
                "id": .optional(event.previousUserID), "nombre": .optional(event.previousUserName), "tipo": "AGENTE",
            ]
            data["mensaje_automatico"] = .optional(event.text)
        }
        return .object(data)
    }

    /// `file_uploaded` (seed 003: the file's `mensaje_id`, with its URL and type, and the whole message).
    static func fileUploaded(_ message: MessageRow) -> JSONValue {
        [
            "mensaje_id": .int(message.id), "url": .optional(message.attachmentID.map { "/attachments/\($0)" }),
            "tipo_mime": .optional(message.attachmentMime), "nombre": .string(message.content),
            "timestamp": .date(message.createdAt), "mensaje": LiveFrames.message(message),
        ]
    }

    /// A message as seed 003 shows it (`autor`, `contenido`, `tipo`, `estado`) plus the seed 001 fields the panel
    /// already renders (`role`, `content`, `timestamp`, `estado_entrega`). System notes are `tipo: "SISTEMA"`.
    static func message(_ message: MessageRow) -> JSONValue {
        let author: (String, String) =
            switch message.role {
            case .user: ("CLIENTE", message.customerName ?? "Cliente")
            case .tecnico: ("AGENTE", message.agentName ?? "Técnico")
            case .assistant: ("ASISTENTE", "Asistente")
            case .system: ("SISTEMA", "Sistema")
            }
        let estado: String =
            switch message.deliveryStatus {
            case nil: message.readAt == nil ? "ENTREGADO" : "LEIDO"
            case .failed: "ERROR"
            case .queued, .retrying, .waitingBridge: "ENVIANDO"
            case .read: "LEIDO"
            case .sent, .delivered: "ENTREGADO"
            }
        let tipo: String =
            switch (message.role, message.type) {
            case (.system, _): "SISTEMA"
            case (_, .image): "IMAGEN"
            case (_, .file): "ARCHIVO"
            case (_, .text): "TEXTO"
            }
        var object: [String: JSONValue] = [
            "id": .int(message.id),
            "timestamp": .date(message.createdAt),
            "autor": [
                "id": .optional(message.agentID.map { "agente-\($0)" } ?? (message.role == .user ? "cliente" : nil)),
                "nombre": .string(author.1), "tipo": .string(author.0),
            ],
            "contenido": .string(message.content),
            "tipo": .string(tipo),
            "estado": .string(estado),
            "role": .string(message.role.rawValue),
            "content": .string(message.content),
            "client_id": .optional(message.clientID),
            "estado_entrega": .optional(message.deliveryStatus?.rawValue),
            "error_entrega": .optional(message.deliveryError),
            "intento": .int(Int64(message.deliveryAttempt)),
        ]
        if let attachment = message.attachmentID {
            object["adjunto_url"] = .string("/attachments/\(attachment)")
            object["archivos"] = [
                ["url": .string("/attachments/\(attachment)"), "tipo_mime": .optional(message.attachmentMime)]
            ]
        } else {
            object["archivos"] = []
        }
        return .object(object)
    }
}
