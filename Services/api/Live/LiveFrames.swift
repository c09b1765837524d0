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

    /// A message as seed 003 shows it (`autor`, `contenido`, `tipo`, `estado`) plus the seed 001 fields the panel
    /// already renders (`role`, `content`, `timestamp`, `estado_entrega`).
    static func message(_ message: ChatStore.LiveMessage) -> JSONValue {
        let author: (String, String) =
            switch message.role {
            case "user": ("CLIENTE", message.customerName ?? "Cliente")
            case "tecnico": ("AGENTE", message.agentName ?? "Técnico")
            case "assistant": ("ASISTENTE", "Asistente")
            default: ("SISTEMA", "Sistema")
            }
        let estado: String =
            switch message.deliveryStatus {
            case nil: message.readAt == nil ? "ENTREGADO" : "LEIDO"
            case "failed": "ERROR"
            case "queued", "retrying", "waiting_bridge": "ENVIANDO"
            case "read": "LEIDO"
            default: "ENTREGADO"
            }
        var object: [String: JSONValue] = [
            "id": .int(message.id),
            "timestamp": .date(message.createdAt),
            "autor": [
                "id": .optional(message.agentID.map { "agente-\($0)" } ?? (message.role == "user" ? "cliente" : nil)),
                "nombre": .string(author.1), "tipo": .string(author.0),
            ],
            "contenido": .string(message.content),
            "tipo": .string(message.type == "image" ? "IMAGEN" : message.type == "file" ? "ARCHIVO" : "TEXTO"),
            "estado": .string(estado),
            "role": .string(message.role),
            "content": .string(message.content),
            "client_id": .optional(message.clientID),
            "estado_entrega": .optional(message.deliveryStatus),
            "error_entrega": .optional(message.deliveryError),
            "intento": .int(Int64(message.deliveryAttempt)),
        ]
        if let attachment = message.attachmentID {
            object["adjunto_url"] = .string("/attachments/\(attachment)")
            object["archivos"] = [
                ["url": .string("/attachments/\(attachment)"), "tipo_mime": .optional(message.attachmentType)]
            ]
        } else {
            object["archivos"] = []
        }
        return .object(object)
    }
}
