import Foundation
import Hummingbird
import Logging
import NIOCore

/// `POST /webhook`: messages from the WhatsApp bridge (seed 004), `{"remitente", "contenido"}` with optional
/// `nombre`, `id_mensaje` and `timestamp`.
struct WebhookController {
    let tickets: TicketStore
    let token: String?
    static let bodyLimit = 1 << 20

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("webhook", use: receive)
    }

    struct Payload: Decodable {
        let remitente: String
        let contenido: String?
        let nombre: String?
        let idMensaje: FlexibleString?
        let timestamp: FlexibleTimestamp?

        enum CodingKeys: String, CodingKey {
            case remitente, contenido, nombre, timestamp
            case idMensaje = "id_mensaje"
        }
    }

    @Sendable func receive(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let token, let presented = request.authorizationToken, constantTimeEquals(presented, token) else {
            throw APIError(
                status: .unauthorized, detail: "Token del puente no válido", headers: [.wwwAuthenticate: "Bearer"])
        }
        let body = try await request.collectBody(upTo: Self.bodyLimit)
        let payload = try JSONDecoder().decode(Payload.self, from: body)
        let sender: SenderAddress
        do {
            sender = try SenderAddress(payload.remitente)
        } catch .empty {
            throw APIError.badRequest("El campo 'remitente' está vacío")
        } catch {
            throw APIError.badRequest(
                "El remitente '\(payload.remitente.prefix(64))' no es un número de WhatsApp válido")
        }
        guard let content = payload.contenido else { throw APIError.badRequest("Falta el campo 'contenido'") }
        guard !content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.badRequest("El campo 'contenido' está vacío")
        }
        let name = payload.nombre?.trimmingCharacters(in: .whitespacesAndNewlines).prefix(120)
        let result = try await tickets.ingest(
            TicketStore.Inbound(
                sender: sender, content: content, name: name.map(String.init),
                externalID: payload.idMensaje?.value.prefix(200).description, externalTimestamp: payload.timestamp?.date
            ))
        var answer: [String: JSONValue] = ["status": "recibido", "ticket_id": .int(result.ticketID)]
        if result.duplicate { answer["duplicado"] = true }
        return try JSONValue.object(answer).response()
    }
}

/// A string field some bridges send as a number.
struct FlexibleString: Decodable {
    let value: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            value = string
        } else if let number = try? container.decode(Int64.self) {
            value = String(number)
        } else {
            throw DecodingError.typeMismatch(
                String.self, .init(codingPath: decoder.codingPath, debugDescription: "string"))
        }
    }
}

/// Unix seconds, milliseconds, or an ISO 8601 string.
struct FlexibleTimestamp: Decodable {
    let date: Date

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            date = Date(timeIntervalSince1970: number > 1e11 ? number / 1000 : number)
        } else if let string = try? container.decode(String.self),
            let parsed = (try? Date(string, strategy: .iso8601))
                ?? (try? Date("\(string)Z", strategy: .iso8601))
        {
            date = parsed
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "timestamp"))
        }
    }
}
