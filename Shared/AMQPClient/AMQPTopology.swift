/// Exchanges, queues and bindings that a connection declares on every (re)connect.
public struct AMQPTopology: Sendable, Equatable {
    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    /// Both topologies, in declaration order, without repeating identical declarations.
    public func merging(_ other: AMQPTopology) -> AMQPTopology {
        AMQPTopology(
            exchanges: exchanges + other.exchanges.filter { !exchanges.contains($0) },
            queues: queues + other.queues.filter { !queues.contains($0) },
            bindings: bindings + other.bindings.filter { !bindings.contains($0) }
        )
    }

    /// An exchange declaration.
    public struct Exchange: Sendable, Hashable {
        public enum Kind: String, Sendable { case direct, topic, fanout, headers }
        public var name: String
        public var kind: Kind
        public var durable: Bool
        public var autoDelete: Bool
        public var arguments: [String: AMQPFieldValue]

        public init(
            _ name: String, kind: Kind, durable: Bool = true, autoDelete: Bool = false,
            arguments: [String: AMQPFieldValue] = [:]
        ) {
            self.name = name
            self.kind = kind
            self.durable = durable
            self.autoDelete = autoDelete
            self.arguments = arguments
        }
    }

    /// A queue declaration.
    public struct Queue: Sendable, Hashable {
        public var name: String
        public var durable: Bool
        public var exclusive: Bool
        public var autoDelete: Bool
        public var arguments: [String: AMQPFieldValue]

        public init(
            _ name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
            arguments: [String: AMQPFieldValue] = [:]
        ) {
            self.name = name
            self.durable = durable
            self.exclusive = exclusive
            self.autoDelete = autoDelete
            self.arguments = arguments
        }

        /// A replicated work queue: a message rejected or redelivered more than `deliveryLimit` times is
        /// dead-lettered (at least once) to `deadLetterExchange`.
        public static func quorum(
            _ name: String, deliveryLimit: Int, deadLetterExchange: String?,
            deadLetterRoutingKey: String? = nil,
            extraArguments: [String: AMQPFieldValue] = [:]
        ) -> Queue {
            var arguments: [String: AMQPFieldValue] = [
                "x-queue-type": "quorum",
                "x-delivery-limit": .int(Int64(deliveryLimit)),
            ]
            if let deadLetterExchange {
                arguments["x-dead-letter-exchange"] = .string(deadLetterExchange)
                // Quorum queues dead-letter at most once unless told otherwise; at-least-once needs reject-publish.
                arguments["x-dead-letter-strategy"] = "at-least-once"
                arguments["x-overflow"] = "reject-publish"
            }
            if let deadLetterRoutingKey {
                arguments["x-dead-letter-routing-key"] = .string(deadLetterRoutingKey)
            }
            return Queue(name, arguments: arguments.merging(extraArguments) { _, new in new })
        }

        /// A queue that lives only as long as the connection declaring it (e.g. one api instance's live feed).
        public static func transient(_ name: String) -> Queue {
            Queue(name, durable: false, exclusive: true, autoDelete: true)
        }
    }

    /// A binding of a queue to an exchange.
    public struct Binding: Sendable, Hashable {
        public var queue: String
        public var exchange: String
        public var routingKey: String
        public var arguments: [String: AMQPFieldValue]

        public init(queue: String, exchange: String, routingKey: String = "", arguments: [String: AMQPFieldValue] = [:])
        {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
            self.arguments = arguments
        }
    }
}

/// Delayed retries without plugins: one delay queue per backoff level (per-message TTL only expires at the head
/// of a queue, so levels cannot share a queue). A message published to `exchange` with header
/// `x-retry-delay: <ms>` and the work queue's name as routing key waits in that level's queue, then is
/// dead-lettered through the default exchange back to the work queue. The bindings match with `all-with-x`: a plain
/// `all` leaves `x-` headers out of the match, so every level's binding matched every message.
public struct AMQPRetryLevels: Sendable, Equatable {
    public static let delayHeader = "x-retry-delay"
    public static let attemptHeader = "x-retry-attempt"

    public var exchange: String
    public var queuePrefix: String
    /// Delays in ascending order.
    public var levels: [Duration]

    public init(exchange: String, queuePrefix: String, levels: [Duration]) {
        self.exchange = exchange
        self.queuePrefix = queuePrefix
        self.levels = levels.sorted()
    }

    /// 1 s doubling up to a 5-minute cap: 1, 2, 4 … 256, 300 s.
    public static func doubling(from first: Duration = .seconds(1), cap: Duration = .seconds(300)) -> [Duration] {
        var levels: [Duration] = []
        var delay = first
        while delay < cap {
            levels.append(delay)
            delay *= 2
        }
        levels.append(cap)
        return levels
    }

    /// The largest level not above `delay` (the smallest level when `delay` is below all of them).
    public func level(for delay: Duration) -> Duration {
        levels.last { $0 <= delay } ?? levels[0]
    }

    func queueName(_ level: Duration) -> String { "\(queuePrefix).\(level.milliseconds)ms" }

    /// The headers exchange, one durable delay queue per level, and their bindings.
    public var topology: AMQPTopology {
        var topology = AMQPTopology(exchanges: [.init(exchange, kind: .headers)])
        for level in levels {
            let name = queueName(level)
            topology.queues.append(
                .quorum(
                    name, deliveryLimit: 10, deadLetterExchange: "",
                    extraArguments: ["x-message-ttl": .int(level.milliseconds)]
                )
            )
            topology.bindings.append(
                .init(
                    queue: name, exchange: exchange,
                    arguments: ["x-match": "all-with-x", Self.delayHeader: .string(String(level.milliseconds))]
                )
            )
        }
        return topology
    }

    /// A copy of `delivery` that comes back to `queue` after `delay` (rounded down to a level), with its
    /// attempt counter raised. Its message id stays the same: it is the same message, tried again.
    public func retry(of delivery: AMQPDelivery, toQueue queue: String, after delay: Duration) -> AMQPMessage {
        let level = level(for: delay)
        var properties = delivery.properties
        properties.headers[Self.delayHeader] = .string(String(level.milliseconds))
        properties.headers[Self.attemptHeader] = .int(Int64(delivery.attempt + 1))
        return AMQPMessage(exchange: exchange, routingKey: queue, body: delivery.body, properties: properties)
    }
}

extension Duration {
    /// Whole milliseconds.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
