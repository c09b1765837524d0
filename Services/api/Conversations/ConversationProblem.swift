/// Why a conversation use case refused: mapped once to HTTP (`apiError`) and once to WebSocket frames (`liveError`).
enum ConversationProblem: Error, Equatable {
    enum Refusal: Equatable, Sendable {
        case notYourChat
        case othersChat
        case adminsOnly
        case agentsOnly
        case transfer
        case ownerOnly
        case other(String)

        var message: String {
            switch self {
            case .notYourChat: "No tienes permisos para enviar mensajes en este chat"
            case .othersChat: "Este chat está asignado a otro agente"
            case .adminsOnly: "Solo un administrador puede asignar chats"
            case .agentsOnly: "Solo los agentes pueden hacer esto"
            case .transfer: "Solo el agente asignado o un administrador puede transferir el chat"
            case .ownerOnly: "Solo el agente asignado al chat o un administrador puede hacer esto"
            case .other(let message): message
            }
        }
    }

    case unauthorized
    case notFound
    case forbidden(Refusal)
    case closed
    case conflict(String)
    case invalid(String)
    case noWhatsAppAddress
    /// A visitor writes faster than their rate allows: wait `retryAfter` seconds.
    case tooManyMessages(retryAfter: Int)
    /// The ticket already holds the most files or bytes of attachments it may.
    case fileQuota(limit: Int)
    case byteQuota(limit: Int)

    var apiError: APIError {
        switch self {
        case .unauthorized: APIError.unauthorized
        case .notFound: APIError.notFound("Ticket no encontrado")
        case .forbidden(let refusal): APIError.forbidden(refusal.message)
        case .closed: APIError.badRequest("No se pueden enviar mensajes en un chat cerrado")
        case .conflict(let message): APIError(status: .conflict, detail: message)
        case .invalid(let message): APIError.badRequest(message)
        case .noWhatsAppAddress:
            APIError(status: .unprocessableContent, detail: "El cliente no tiene un número de WhatsApp")
        case .tooManyMessages(let seconds):
            APIError(
                status: .tooManyRequests, detail: liveError.message, extra: ["reintentar_en": .int(Int64(seconds))],
                headers: [.retryAfter: String(seconds)])
        case .fileQuota(let limit):
            APIError(
                status: .tooManyRequests, detail: liveError.message, extra: ["limite_archivos": .int(Int64(limit))])
        case .byteQuota(let limit):
            APIError(status: .contentTooLarge, detail: liveError.message, extra: ["limite_bytes": .int(Int64(limit))])
        }
    }

    /// The `error` frame of seed 003: `codigo` and `mensaje`.
    var liveError: (code: String, message: String) {
        switch self {
        case .unauthorized: ("sin_permiso", "No autorizado")
        case .notFound: ("no_encontrado", "Ticket no encontrado")
        case .forbidden(let refusal): ("sin_permiso", refusal.message)
        case .closed: ("chat_cerrado", "No se pueden enviar mensajes en un chat cerrado")
        case .conflict(let message), .invalid(let message): ("mensaje_invalido", message)
        case .noWhatsAppAddress: ("sin_whatsapp", "El cliente no tiene un número de WhatsApp")
        case .tooManyMessages(let seconds):
            ("demasiados_mensajes", "Estás enviando mensajes demasiado rápido; espera \(seconds) s e intenta de nuevo")
        case .fileQuota(let limit): ("cuota_archivos", "Este chat ya tiene el máximo de \(limit) archivos")
        case .byteQuota(let limit):
            ("cuota_archivos", "Los archivos de este chat no pueden sumar más de \(limit.byteDescription)")
        }
    }
}

extension GuestSessions.Problem {
    var apiError: APIError {
        switch self {
        case .tooManyChats:
            APIError(status: .tooManyRequests, detail: "Demasiados chats desde esta dirección; intenta más tarde")
        case .expired: APIError.badRequest("Sesión expirada. Por favor inicia el chat nuevamente.")
        case .alreadyCompleted:
            APIError.badRequest("Esta sesión ya inició un chat. Por favor inicia el chat nuevamente.")
        }
    }
}
