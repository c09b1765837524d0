import Foundation

/// AMQP basic properties that Mostrador uses.
public struct AMQPProperties: Sendable, Hashable {
    public var contentType: String?
    public var messageID: String?
    public var type: String?
    public var correlationID: String?
    public var timestamp: Date?
    public var replyTo: String?
    /// Per-message TTL in milliseconds, as the broker expects it.
    public var expiration: String?
    public var persistent: Bool
    public var headers: [String: AMQPFieldValue]

    public init(
        contentType: String? = nil, messageID: String? = nil, type: String? = nil,
        correlationID: String? = nil, timestamp: Date? = nil, replyTo: String? = nil,
        expiration: String? = nil, persistent: Bool = true, headers: [String: AMQPFieldValue] = [:]
    ) {
        self.contentType = contentType
        self.messageID = messageID
        self.type = type
        self.correlationID = correlationID
        self.timestamp = timestamp
        self.replyTo = replyTo
        self.expiration = expiration
        self.persistent = persistent
        self.headers = headers
    }
}

/// A message to publish.
public struct AMQPMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var properties: AMQPProperties
    /// When true, a message no queue would receive fails with `AMQPError.returned` instead of vanishing.
    public var mandatory: Bool

    public init(
        exchange: String, routingKey: String, body: [UInt8], properties: AMQPProperties = .init(),
        mandatory: Bool = true
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
        self.mandatory = mandatory
    }
}
