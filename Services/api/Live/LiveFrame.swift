import Foundation

/// A frame of seed 003: `{"tipo": …, "data": {…}}`.
struct LiveFrame<Payload: Encodable & Sendable>: Encodable, Sendable {
    let type: LiveFrameType
    let data: Payload

    enum CodingKeys: String, CodingKey {
        case data
        case type = "tipo"
    }

    init(_ type: LiveFrameType, _ data: Payload) {
        self.type = type
        self.data = data
    }

    /// The frame as the text of a WebSocket message.
    var text: String {
        (try? String(decoding: WireJSON.encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}

/// The `tipo` of the frames the server sends.
enum LiveFrameType: String, Encodable, Sendable {
    case connectionEstablished = "connection_established"
    case messageReceived = "mensaje_recibido"
    case messageConfirmed = "mensaje_confirmado"
    case error
    case heartbeat
    case uploadAuthorized = "file_upload_authorized"
    case fileUploaded = "file_uploaded"
    case deliveryStatus = "estado_entrega"
    case typingStarted = "usuario_escribiendo"
    case typingStopped = "usuario_dejo_escribir"
    case agentJoined = "agente_joined"
    case agentLeft = "agente_left"
    case chatTransferred = "chat_transferred"
    /// The client fell too far behind and frames were not sent: reload the conversation, then connect again.
    case resync
}
