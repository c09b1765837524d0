import Foundation

/// The seed bridge's webhook body (seed 004): `{"remitente", "contenido"}` with optional `nombre`, `id_mensaje`,
/// `timestamp`, and a photo as `imagen_base64` (or, in a multipart body, as a file part). Its own file so that the
/// libFuzzer harness (`Tests/Fuzz/run.sh`) compiles exactly what the api decodes.
struct SeedBridgePayload: Decodable {
    var remitente: String
    /// The same person's other address, as the bridge knows it (whatsmeow's `SenderAlt`: the phone of a `@lid`
    /// sender, or the `@lid` of a phone).
    var remitenteAlt: String? = nil
    /// The WhatsApp id of the message the customer answered (quoted), when they replied to one.
    var enRespuestaA: FlexibleString? = nil
    var contenido: String?
    var nombre: String?
    var idMensaje: FlexibleString?
    var timestamp: FlexibleTimestamp?
    var tipo: String?
    var imagenBase64: String?
    var mimetype: String?
    var caption: String?
    var filename: String?

    enum CodingKeys: String, CodingKey {
        case remitente, contenido, nombre, timestamp, tipo, mimetype, caption, filename
        case idMensaje = "id_mensaje"
        case imagenBase64 = "imagen_base64"
        case remitenteAlt = "remitente_alt"
        case enRespuestaA = "en_respuesta_a"
    }

    var isImage: Bool {
        ["imagen", "image", "foto", "documento", "document", "archivo"].contains(tipo?.lowercased() ?? "")
    }
}

/// A delivery receipt from a bridge that reports them (the Mostrador WhatsApp bridge, an extension of seed 004):
/// `{"tipo": "estado", "id_mensaje": "<id the bridge answered on enviar-mensaje>", "estado": "delivered"}`.
struct SeedBridgeReceipt: Decodable {
    var tipo: String?
    var idMensaje: FlexibleString?
    var estado: String?
    var detalle: String?
    var timestamp: FlexibleTimestamp?

    enum CodingKeys: String, CodingKey {
        case tipo, estado, detalle, timestamp
        case idMensaje = "id_mensaje"
    }

    var isReceipt: Bool { tipo?.lowercased() == "estado" }
}
