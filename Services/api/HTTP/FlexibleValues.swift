import Foundation

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

/// A channel's timestamp: Unix seconds, milliseconds, or an ISO 8601 string. It is informational (the message is
/// ordered by when it arrived), so anything else — garbage, `1e300`, a negative number, a year past 2100 — is
/// ignored (`date` nil) rather than refusing a customer's message over it.
struct FlexibleTimestamp: Decodable {
    let date: Date?

    /// The dates a channel can plausibly mean: 2000-01-01 up to (not including) 2100-01-01.
    static let plausible = Date(timeIntervalSince1970: 946_684_800)..<Date(timeIntervalSince1970: 4_102_444_800)

    init(text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        date = Double(trimmed).map(Self.date(unix:)) ?? Self.date(iso8601: trimmed)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            date = Self.date(unix: number)
        } else if let string = try? container.decode(String.self) {
            date = FlexibleTimestamp(text: string).date
        } else {
            date = nil
        }
    }

    /// Seconds, or milliseconds when the number is too large to be seconds.
    static func date(unix number: Double) -> Date? {
        guard number.isFinite else { return nil }
        let date = Date(timeIntervalSince1970: number > 1e11 ? number / 1000 : number)
        return plausible.contains(date) ? date : nil
    }

    static func date(iso8601 text: String) -> Date? {
        guard text.utf8.count <= 64 else { return nil }
        let parsed = (try? Date(text, strategy: .iso8601)) ?? (try? Date("\(text)Z", strategy: .iso8601))
        return parsed.flatMap { plausible.contains($0) ? $0 : nil }
    }
}
