import Foundation
import HTTPTypes
import Hummingbird

/// Parsing shared by every controller: message text, integers in a range, ids in the path, pagination.
enum Parameters {
    /// The longest message anyone may write (technician, visitor, channel).
    static let maximumMessageLength = TextRules.maximumMessageLength

    /// A message's text under `TextRules`: present, not empty, not longer than the limit (in characters and in
    /// Unicode scalars), control characters removed.
    static func messageText(_ content: String?, field: String = "content") throws -> String {
        guard let content else { throw APIError.badRequest("Falta el campo '\(field)'") }
        do {
            return try TextRules.message(content)
        } catch {
            throw error.messageError()
        }
    }

    /// An optional `client_id`: 1 to 100 characters.
    static func clientID(_ value: String?) throws -> String? {
        guard let value else { return nil }
        guard !value.isEmpty, value.count <= 100 else {
            throw APIError.badRequest("El campo 'client_id' debe tener entre 1 y 100 caracteres")
        }
        return value
    }

    /// An ISO 8601 instant, or a day (`2026-12-01`, UTC): with `endOfDay`, a day means the end of it (an `until`
    /// that includes the whole day).
    static func instant(_ value: Substring?, name: String, endOfDay: Bool) throws -> Date? {
        guard let text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        let bounded = String(text.prefix(100))
        if let instant = try? Date(bounded, strategy: .iso8601) { return instant }
        if let day = try? Date(bounded + "T00:00:00Z", strategy: .iso8601) {
            return endOfDay ? day.addingTimeInterval(86_400) : day
        }
        throw APIError.badRequest("'\(name)' debe ser una fecha (2026-12-01) o un instante ISO 8601")
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

    /// The most ids one mark-read request may name (`message_ids`, `notification_ids`).
    static let maximumIDs = 1000

    /// A list of ids (numbers or strings) from a body: present, at most `maximumIDs`, each 1 to 64 characters;
    /// duplicates removed, order kept.
    static func ids(_ values: [FlexibleString]?, field: String) throws -> [String] {
        guard let values else { throw APIError.badRequest("Falta el campo '\(field)'") }
        guard values.count <= maximumIDs else {
            throw APIError.badRequest("El campo '\(field)' admite como máximo \(maximumIDs) elementos")
        }
        var seen = Set<String>()
        var ids: [String] = []
        for value in values.map(\.value) {
            guard !value.isEmpty, value.utf8.count <= 64 else {
                throw APIError.badRequest("El campo '\(field)' contiene un id no válido")
            }
            if seen.insert(value).inserted { ids.append(value) }
        }
        return ids
    }

    /// Like `ids`, for numeric ids only (message ids): a value that is not a positive integer is a 400.
    static func numericIDs(_ values: [FlexibleString]?, field: String) throws -> [Int64] {
        try ids(values, field: field).map { text in
            guard let id = Int64(text), id > 0 else {
                throw APIError.badRequest("El campo '\(field)' debe contener ids numéricos, no '\(text.prefix(20))'")
            }
            return id
        }
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
