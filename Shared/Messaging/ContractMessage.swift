import AMQPClient
import Foundation
import MostradorContracts
import MostradorTracing

extension AMQPMessage {
    /// A contract value in its envelope, addressed to the events or commands exchange by its kind; published under a
    /// trace (`TraceContext.current`), it carries it in header `traceparent`: the consumer's span is a child of the
    /// span that published it.
    public init<Payload: MessageContract>(_ envelope: Envelope<Payload>) throws {
        let body = try ContractCoding.sharedEncoder.encode(envelope.payload)
        var headers: [String: AMQPFieldValue] = ["x-schema-version": .int(Int64(envelope.schemaVersion))]
        if let trace = TraceContext.current { headers[TraceContext.header] = .string(trace.traceparent) }
        self.init(
            exchange: Payload.kind == .event ? MostradorTopology.events : MostradorTopology.commands,
            routingKey: Payload.type,
            body: Array(body),
            properties: AMQPProperties(
                contentType: "application/json",
                messageID: envelope.messageID.uuidString.lowercased(),
                type: Payload.type,
                correlationID: envelope.correlationID,
                timestamp: envelope.timestamp,
                headers: headers
            )
        )
    }
}

extension AMQPConnection {
    /// Publishes a contract value and returns once the broker confirmed it.
    public func publish<Payload: MessageContract>(_ payload: Payload, messageID: UUID = UUID()) async throws {
        try await publish(AMQPMessage(Envelope(payload, messageID: messageID)))
    }
}

/// Why a delivery is not a valid contract value (it goes to the dead-letter exchange).
public enum ContractDecodingError: Error, CustomStringConvertible, Equatable {
    case wrongType(expected: String, found: String?)
    case unsupportedSchemaVersion(Int, supported: Int)
    case missingMessageID
    case malformedBody(String)

    public var description: String {
        switch self {
        case .wrongType(let expected, let found): "expected type \(expected), found \(found ?? "none")"
        case .unsupportedSchemaVersion(let version, let supported):
            "schema version \(version) is newer than the supported \(supported)"
        case .missingMessageID: "message_id is missing or not a UUID"
        case .malformedBody(let reason): "body does not decode: \(reason)"
        }
    }
}

extension AMQPProperties {
    /// The trace a message was published under, from its `traceparent` header (nil when absent or malformed).
    public var trace: TraceContext? {
        headers[TraceContext.header]?.stringValue.flatMap { TraceContext(traceparent: $0) }
    }
}

extension AMQPDelivery {
    /// The delivery as a contract value, checking its type, schema version and message id.
    public func decode<Payload: MessageContract>(_: Payload.Type) throws(ContractDecodingError) -> Envelope<Payload> {
        guard properties.type == Payload.type else {
            throw .wrongType(expected: Payload.type, found: properties.type)
        }
        let version = properties.headers["x-schema-version"]?.intValue.map(Int.init) ?? 1
        guard version <= Payload.schemaVersion else {
            throw .unsupportedSchemaVersion(version, supported: Payload.schemaVersion)
        }
        guard let id = properties.messageID.flatMap(UUID.init(uuidString:)) else { throw .missingMessageID }
        let payload: Payload
        do {
            payload = try ContractCoding.sharedDecoder.decode(Payload.self, from: Data(body))
        } catch {
            throw .malformedBody(String(describing: error))
        }
        return Envelope(payload, messageID: id, timestamp: properties.timestamp ?? Date())
    }
}
