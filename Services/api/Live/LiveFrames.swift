import Foundation
import MostradorContracts

/// The `data` of the frames of seed 003 (the messages themselves are `LiveMessageJSON`).
enum LiveFrames {
    /// Someone in a room: `{id, nombre, tipo}`.
    struct User: Encodable, Sendable {
        @Nullable var id: String?
        @Nullable var name: String?
        @Nullable var kind: String?

        enum CodingKeys: String, CodingKey {
            case id
            case name = "nombre"
            case kind = "tipo"
        }
    }

    /// Someone connected to a room: `{id, nombre, tipo, online: true}`.
    struct Participant: Encodable, Sendable {
        @Nullable var id: String?
        @Nullable var name: String?
        let kind: String
        let online = true

        enum CodingKeys: String, CodingKey {
            case id, online
            case name = "nombre"
            case kind = "tipo"
        }
    }

    /// `connection_established`: who I am, who else is here (`participants`, and the Spanish `participantes`),
    /// and the latest messages.
    struct ConnectionEstablished: Encodable, Sendable {
        let ticketID: Int64
        let roomID: String
        let connectionID: String
        let user: User
        let participants: [Participant]
        let connections: Int
        let recentHistory: [LiveMessageJSON]

        enum CodingKeys: String, CodingKey {
            case participants
            case ticketID = "ticket_id"
            case roomID = "chat_id"
            case connectionID = "conexion_id"
            case user = "usuario"
            case participantes
            case connections = "conexiones"
            case recentHistory = "historial_reciente"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(ticketID, forKey: .ticketID)
            try container.encode(roomID, forKey: .roomID)
            try container.encode(connectionID, forKey: .connectionID)
            try container.encode(user, forKey: .user)
            try container.encode(participants, forKey: .participants)
            try container.encode(participants, forKey: .participantes)
            try container.encode(connections, forKey: .connections)
            try container.encode(recentHistory, forKey: .recentHistory)
        }
    }

    /// `agente_joined` and `agente_left`.
    struct People: Encodable, Sendable {
        let user: User
        let ticketID: Int64
        let timestamp: Date

        enum CodingKeys: String, CodingKey {
            case timestamp
            case user = "usuario"
            case ticketID = "ticket_id"
        }

        init(_ event: LiveEvent, at now: Date) {
            user = User(event)
            ticketID = event.ticketID
            timestamp = now
        }
    }

    /// `chat_transferred` (seed 003: `nuevo_agente`, `timestamp`, `mensaje_automatico`; the system note itself
    /// arrives as a `mensaje_recibido` too).
    struct Transfer: Encodable, Sendable {
        let user: User
        let ticketID: Int64
        let timestamp: Date
        let newAgent: Participant
        let previousAgent: User
        @Nullable var automaticMessage: String?

        enum CodingKeys: String, CodingKey {
            case timestamp
            case user = "usuario"
            case ticketID = "ticket_id"
            case newAgent = "nuevo_agente"
            case previousAgent = "agente_anterior"
            case automaticMessage = "mensaje_automatico"
        }

        init(_ event: LiveEvent, at now: Date) {
            user = User(event)
            ticketID = event.ticketID
            timestamp = now
            newAgent = Participant(id: event.userID, name: event.userName, kind: "AGENTE")
            previousAgent = User(id: event.previousUserID, name: event.previousUserName, kind: "AGENTE")
            automaticMessage = event.text
        }
    }

    /// `usuario_escribiendo` and `usuario_dejo_escribir`.
    struct Typing: Encodable, Sendable {
        let user: User

        enum CodingKeys: String, CodingKey { case user = "usuario" }
    }

    /// `estado_entrega`: a message's WhatsApp delivery changed.
    /// `resync`: the socket closes right after; what was not sent is in the conversation's history.
    struct Resync: Encodable, Sendable {
        var reason = "demasiados_mensajes_pendientes"
        var message = "La conexión se quedó atrás: recarga la conversación"

        enum CodingKeys: String, CodingKey {
            case reason = "motivo"
            case message = "mensaje"
        }
    }

    struct Delivery: Encodable, Sendable {
        let messageID: Int64
        @Nullable var status: DeliveryStatus?
        @Nullable var error: String?
        let attempt: Int

        enum CodingKeys: String, CodingKey {
            case messageID = "mensaje_id"
            case status = "estado_entrega"
            case error = "error_entrega"
            case attempt = "intento"
        }

        init(_ message: MessageRow) {
            messageID = message.id
            status = message.deliveryStatus
            error = message.deliveryError
            attempt = message.deliveryAttempt
        }
    }

    /// `file_uploaded` (seed 003: the file's `mensaje_id`, with its URL and type, and the whole message).
    struct FileUploaded: Encodable, Sendable {
        let messageID: Int64
        @Nullable var url: String?
        @Nullable var mime: String?
        let name: String
        let timestamp: Date
        let message: LiveMessageJSON

        enum CodingKeys: String, CodingKey {
            case url, timestamp
            case messageID = "mensaje_id"
            case mime = "tipo_mime"
            case name = "nombre"
            case message = "mensaje"
        }

        init(_ message: MessageRow) {
            messageID = message.id
            url = message.attachmentURL
            mime = message.attachmentMime
            name = message.content
            timestamp = message.createdAt
            self.message = LiveMessageJSON(message)
        }
    }

    /// `heartbeat`: the server's time and the client's, echoed.
    struct Heartbeat: Encodable, Sendable {
        let timestamp: Date
        @Nullable var received: String?

        enum CodingKeys: String, CodingKey {
            case timestamp
            case received = "recibido"
        }
    }

    /// `mensaje_confirmado`: the client's message is stored (`duplicado` when its `client_id` was already).
    struct Confirmation: Encodable, Sendable {
        @Nullable var clientID: String?
        let messageID: Int64
        let timestamp: Date
        let repeated: Bool

        enum CodingKeys: String, CodingKey {
            case timestamp
            case clientID = "client_id"
            case messageID = "mensaje_id"
            case repeated = "duplicado"
        }
    }

    /// `error`: what went wrong with the client's frame; the connection stays open.
    struct Problem: Encodable, Sendable {
        let code: String
        let message: String

        enum CodingKeys: String, CodingKey {
            case code = "codigo"
            case message = "mensaje"
        }
    }

    /// `file_upload_authorized`: where to upload, once, within five minutes.
    struct UploadAuthorized: Encodable, Sendable {
        let uploadURL: String
        let headers: [String: String] = [:]
        let field = "file"
        let maximumSize = UploadGrants.maximumSize
        let allowedTypes = UploadGrants.allowedTypes
        let expiresIn = UploadGrants.lifetime
        @Nullable var filename: String?

        enum CodingKeys: String, CodingKey {
            case headers
            case uploadURL = "upload_url"
            case field = "campo"
            case maximumSize = "max_size"
            case allowedTypes = "tipos_permitidos"
            case expiresIn = "expires_in"
            case filename = "nombre_archivo"
        }
    }
}

extension LiveFrames.User {
    /// Who typed, joined or left.
    init(_ event: LiveEvent) {
        self.init(id: event.userID, name: event.userName, kind: event.userKind)
    }
}
