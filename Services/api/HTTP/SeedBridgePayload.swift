import Foundation

/// The seed bridge's webhook body (seed 004): `{"remitente", "contenido"}` with optional `nombre`, `id_mensaje`,
/// `timestamp`, and a photo as `imagen_base64` (or, in a multipart body, as a file part). Its own file so that the
/// libFuzzer harness (`Tests/Fuzz/run.sh`) compiles exactly what the api decodes.
struct SeedBridgePayload: Decodable {
    var remitente: String
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
    }

    var isImage: Bool {
        ["imagen", "image", "foto", "documento", "document", "archivo"].contains(tipo?.lowercased() ?? "")
    }
}
