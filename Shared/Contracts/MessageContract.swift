import Foundation

/// Whether a contract is a fact that happened (published to the topic exchange `mostrador.events`) or a request
/// for one service to act (published to the direct exchange `mostrador.commands`).
public enum ContractKind: String, Sendable {
    case event
    case command
}

/// A message type exchanged between services, defined once here and used by producer and consumer alike.
/// Its JSON body is the type itself; its AMQP `type` (and routing key) is `Self.type`.
public protocol MessageContract: Codable, Sendable {
    /// Routing key and AMQP `type`, e.g. `ticket.created`.
    static var type: String { get }
    static var kind: ContractKind { get }
    /// Raised on incompatible changes; sent as header `x-schema-version`.
    static var schemaVersion: Int { get }
    /// The ticket the message is about, sent as AMQP `correlation_id`.
    var correlationID: String? { get }
}

extension MessageContract {
    public static var schemaVersion: Int { 1 }
}

/// The envelope around every contract value: the AMQP properties of design.md.
public struct Envelope<Payload: MessageContract>: Sendable {
    /// Stable across retries and redeliveries: consumers use it as their idempotency key.
    public var messageID: UUID
    public var correlationID: String?
    public var timestamp: Date
    public var schemaVersion: Int
    public var payload: Payload

    public init(_ payload: Payload, messageID: UUID = UUID(), timestamp: Date = Date()) {
        self.messageID = messageID
        self.correlationID = payload.correlationID
        self.timestamp = timestamp
        self.schemaVersion = Payload.schemaVersion
        self.payload = payload
    }

    public static var type: String { Payload.type }
}

/// JSON as the contracts are written on the wire: snake_case keys, ISO 8601 dates with fractional seconds.
/// `shared` coders are made once (building one per message showed up in profiles); they hold no per-call state.
public enum ContractCoding {
    static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static let sharedEncoder = encoder()
    public static let sharedDecoder = decoder()

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(dateStyle.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in CamelCaseKey(snakeCase: path.last!.stringValue) }
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let string = try container.decode(String.self)
            if let date = try? dateStyle.parse(string) { return date }
            if let date = try? Date(string, strategy: .iso8601) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 date: \(string)")
        }
        return decoder
    }
}

/// A UUID that is always the same for the same input: a consumer that reacts to a message with new messages derives
/// their ids from the one it got, so handling that message twice publishes duplicates the next hop recognises.
public enum DerivedID {
    public static func make(from source: UUID, _ purpose: String) -> UUID {
        var hash: (UInt64, UInt64) = (0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4)
        for byte in Array(source.uuidString.utf8) + Array(purpose.utf8) {
            hash.0 = (hash.0 ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            hash.1 = (hash.1 ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ 0x9E37_79B9
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: hash.0 >> (UInt64(index) * 8))
            bytes[index + 8] = UInt8(truncatingIfNeeded: hash.1 >> (UInt64(index) * 8))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5-style
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

/// `ticket_id` → `ticketID`: Foundation's `.convertFromSnakeCase` gives `ticketId`, which does not match Swift's
/// acronym style, so the few acronyms the contracts use are upper-cased.
struct CamelCaseKey: CodingKey {
    static let acronyms: Set<Substring> = ["id", "uuid", "url", "ip"]
    var stringValue: String
    var intValue: Int? { nil }

    init(snakeCase: String) {
        let parts = snakeCase.split(separator: "_")
        guard let first = parts.first else {
            stringValue = snakeCase
            return
        }
        stringValue =
            String(first)
            + parts.dropFirst().map {
                Self.acronyms.contains($0) ? $0.uppercased() : $0.prefix(1).uppercased() + $0.dropFirst()
            }.joined()
    }

    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
