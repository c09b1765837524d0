import Foundation

/// How the api writes JSON, in HTTP responses and WebSocket frames alike: keys sorted, slashes not escaped, dates
/// as `Timestamp.format`.
enum WireJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()
}

/// Timestamps as the API shows them: ISO 8601 in UTC with milliseconds (`2026-02-05T10:30:00.000Z`).
enum Timestamp {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func format(_ date: Date) -> String {
        style.format(date)
    }
}

/// An optional field the seeds show as `null` when empty. Synthesized `Encodable` leaves a `nil` optional out;
/// a field wrapped in `Nullable` keeps its key with `null`, as the seeds' clients expect.
@propertyWrapper
struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    init(_ value: Value?) { wrappedValue = value }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
