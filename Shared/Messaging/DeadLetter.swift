import AMQPClient
import Foundation

/// A message in the dead-letter queue as an operator sees it: the work queue it died in, why, how many times, since
/// when; and the message that puts it back.
///
/// Consumers dead-letter by publishing a copy with `x-mostrador-*` headers (the reason included); the broker
/// dead-letters by itself too (a rejection when that copy could not be published, a delivery limit reached), and
/// then only its `x-death` header says where from. Both are read here.
public struct DeadLetter: Sendable {
    public static let reasonHeader = "x-mostrador-reason"
    public static let queueHeader = "x-mostrador-queue"
    /// Seconds since 1970 when the consumer dead-lettered it.
    public static let deadAtHeader = "x-mostrador-dead-at"
    /// Deaths before this one (earlier ones redriven).
    public static let deathsHeader = "x-mostrador-deaths"
    /// How many times an operator redrove it.
    public static let redrivenHeader = "x-mostrador-redriven"
    /// Headers about one stay in a queue, dropped when the message moves on.
    static let transientHeaders: Set = [
        "x-death", "x-first-death-queue", "x-first-death-reason", "x-first-death-exchange", "x-last-death-queue",
        "x-last-death-reason", "x-last-death-exchange", "x-delivery-count", reasonHeader, queueHeader, deadAtHeader,
        AMQPRetryLevels.delayHeader, HandlerRetryPolicy.failuresHeader,
    ]

    public var body: [UInt8]
    public var properties: AMQPProperties
    public var routingKey: String

    public init(body: [UInt8], properties: AMQPProperties, routingKey: String) {
        self.body = body
        self.properties = properties
        self.routingKey = routingKey
    }

    public init(_ delivery: AMQPDelivery) {
        self.init(body: delivery.body, properties: delivery.properties, routingKey: delivery.routingKey)
    }

    public var messageID: String? { properties.messageID }
    public var type: String? { properties.type }

    /// The broker's newest record of a death (not a delay queue's expiry, which is how retries come back).
    var brokerDeath: [String: AMQPFieldValue]? {
        guard case .array(let deaths) = properties.headers["x-death"] else { return nil }
        for case .table(let death) in deaths where death["reason"]?.stringValue != "expired" { return death }
        return nil
    }

    /// The work queue it died in: where a redrive sends it.
    public var queue: String? {
        properties.headers[Self.queueHeader]?.stringValue ?? brokerDeath?["queue"]?.stringValue
            ?? properties.headers["x-first-death-queue"]?.stringValue
    }

    public var reason: String {
        if let reason = properties.headers[Self.reasonHeader]?.stringValue { return reason }
        switch brokerDeath?["reason"]?.stringValue {
        case "delivery_limit": return "devuelto a la cola más veces que su x-delivery-limit"
        case "rejected": return "rechazado por el consumidor"
        case "maxlen": return "la cola estaba llena"
        case let other?: return other
        case nil: return "desconocido"
        }
    }

    /// Times it went to the dead-letter queue, this one included.
    public var deaths: Int {
        max(1, recordedDeaths + (properties.headers[Self.reasonHeader] == nil ? 0 : 1))
    }

    /// Deaths its headers record: earlier ones (`x-mostrador-deaths`) and the broker's (`x-death`).
    var recordedDeaths: Int {
        var count = Int(properties.headers[Self.deathsHeader]?.intValue ?? 0)
        if case .array(let deaths) = properties.headers["x-death"] {
            for case .table(let death) in deaths where death["reason"]?.stringValue != "expired" {
                count += Int(death["count"]?.intValue ?? 1)
            }
        }
        return count
    }

    /// When it died (this time).
    public var deadAt: Date? {
        (properties.headers[Self.deadAtHeader]?.intValue ?? brokerDeath?["time"]?.intValue)
            .map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    public var redriveCount: Int { Int(properties.headers[Self.redrivenHeader]?.intValue ?? 0) }

    /// How many times the dead-letter queue handed it out and took it back (listing does that; the queue's
    /// delivery limit bounds it).
    public var returns: Int { Int(properties.headers["x-delivery-count"]?.intValue ?? 0) }

    /// The copy that goes straight back to `queue` (through the default exchange, so it reaches only the queue
    /// where it died, not every queue bound to its routing key), counted as redriven, with fresh handler failures.
    /// Its message id is unchanged: consumers see the same message again. `x-retry-attempt` is kept (a handler's
    /// own attempt count, such as the relay's, keeps going up). Nil when nothing says where it came from.
    public func redriveMessage() -> AMQPMessage? {
        guard let queue else { return nil }
        var properties = properties
        properties.headers = properties.headers.filter { !Self.transientHeaders.contains($0.key) }
        properties.headers[Self.deathsHeader] = .int(Int64(deaths))
        properties.headers[Self.redrivenHeader] = .int(Int64(redriveCount + 1))
        properties.expiration = nil
        return AMQPMessage(exchange: "", routingKey: queue, body: body, properties: properties)
    }

    /// A message of the work queue `queue` (a delivery's `body`, `properties` and `routingKey`) dead-lettered for
    /// `reason` at `now`: its stay in that queue forgotten, the deaths it had before counted.
    public init(
        body: [UInt8], properties: AMQPProperties, routingKey: String, diedIn queue: String, reason: String,
        now: Date = Date()
    ) {
        let earlier = DeadLetter(body: body, properties: properties, routingKey: routingKey).recordedDeaths
        var properties = properties
        properties.headers = properties.headers.filter { !Self.transientHeaders.contains($0.key) }
        properties.headers[Self.reasonHeader] = .string(reason)
        properties.headers[Self.queueHeader] = .string(queue)
        properties.headers[Self.deadAtHeader] = .int(Int64(now.timeIntervalSince1970))
        properties.headers[Self.deathsHeader] = earlier > 0 ? .int(Int64(earlier)) : nil
        properties.expiration = nil
        self.init(body: body, properties: properties, routingKey: routingKey)
    }

    /// It, published to the dead-letter `exchange` under its routing key.
    public func message(to exchange: String) -> AMQPMessage {
        AMQPMessage(exchange: exchange, routingKey: routingKey, body: body, properties: properties)
    }
}

extension AMQPDelivery {
    /// How many times an operator put this message back from the dead-letter queue (0: never).
    public var redriveCount: Int {
        Int(properties.headers[DeadLetter.redrivenHeader]?.intValue ?? 0)
    }
}
