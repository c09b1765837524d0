import Foundation
import HTTPTypes
import Hummingbird

/// Parsing shared by every controller: message text, integers in a range, ids in the path, pagination.
enum Parameters {
    /// The longest message anyone may write (technician, visitor, channel).
    static let maximumMessageLength = 4096

    /// A message's text, trimmed: present, not empty, not longer than `maximumMessageLength`.
    static func messageText(_ content: String?, field: String = "content") throws -> String {
        guard let content else { throw APIError.badRequest("Falta el campo '\(field)'") }
        let text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw APIError.badRequest("El mensaje no puede estar vacío") }
        guard text.count <= maximumMessageLength else {
            throw APIError.badRequest("El mensaje excede \(maximumMessageLength) caracteres")
        }
        return text
    }

    /// An optional `client_id`: 1 to 100 characters.
    static func clientID(_ value: String?) throws -> String? {
        guard let value else { return nil }
        guard !value.isEmpty, value.count <= 100 else {
            throw APIError.badRequest("El campo 'client_id' debe tener entre 1 y 100 caracteres")
        }
        return value
    }

    static func integer(_ value: Substring?, name: String, default defaultValue: Int, range: ClosedRange<Int>) throws
        -> Int
    {
        guard let value, !value.isEmpty else { return defaultValue }
        guard let number = Int(value), range.contains(number) else {
            throw APIError.badRequest(
                "El parámetro '\(name)' debe ser un entero entre \(range.lowerBound) y \(range.upperBound)")
        }
        return number
    }

    /// The ticket key in the path (`:id` number or room UUID, or `:room`).
    static func ticketKey(_ context: some RequestContext, _ name: String = "id") throws -> String {
        guard let key = context.parameters.get(name), !key.isEmpty, key.count <= 64 else {
            throw APIError.notFound("Ticket no encontrado")
        }
        return key
    }

    /// The ticket number in the path (the seed's `/ticket/{id}/…` routes take numbers only).
    static func ticketNumber(_ context: some RequestContext) throws -> String {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError.notFound("Ticket no encontrado")
        }
        return String(id)
    }

    /// A page request: `page` (from 1) and its size under `sizeName`.
    struct Page: Sendable {
        let number: Int
        let size: Int

        init(_ request: Request, sizeName: String = "page_size", defaultSize: Int = 20, maximumSize: Int = 100) throws {
            let query = request.uri.queryParameters
            number = try Parameters.integer(query["page"], name: "page", default: 1, range: 1...100_000)
            size = try Parameters.integer(
                query[sizeName[...]], name: sizeName, default: defaultSize, range: 1...maximumSize)
        }

        func pages(total: Int) -> Int { max(1, (total + size - 1) / size) }

        /// The pagination headers of `GET /tickets`.
        func headers(total: Int) -> HTTPFields {
            [
                HTTPField.Name("X-Total-Count")!: String(total),
                HTTPField.Name("X-Page")!: String(number),
                HTTPField.Name("X-Total-Pages")!: String(pages(total: total)),
            ]
        }
    }
}

/// A string field some clients send as a number.
struct FlexibleString: Decodable {
    let value: String

    init(value: String) { self.value = value }

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

    init?(text: String) {
        if let number = Double(text) {
            date = Date(timeIntervalSince1970: number > 1e11 ? number / 1000 : number)
        } else if let parsed = try? Date(text, strategy: .iso8601) {
            date = parsed
        } else {
            return nil
        }
    }

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
