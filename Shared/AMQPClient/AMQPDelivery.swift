/// A message received from a queue. Settle it exactly once with `ack()`, `nack(requeue:)` or `reject()`;
/// a delivery left unsettled is redelivered when its channel closes.
public struct AMQPDelivery: Sendable {
    public let body: [UInt8]
    public let properties: AMQPProperties
    public let exchange: String
    public let routingKey: String
    /// The broker has delivered this message before (to this or another consumer).
    public let redelivered: Bool
    public let deliveryTag: UInt64
    /// The queue it came from.
    public let queue: String

    let token: AckToken
    let engine: AMQPEngine

    /// How many times a quorum queue returned this message before (header `x-delivery-count`).
    public var deliveryCount: Int {
        properties.headers["x-delivery-count"]?.intValue.map(Int.init) ?? 0
    }

    /// Attempts made through delayed retries (`AMQPRetryLevels`), starting at 0.
    public var attempt: Int {
        properties.headers[AMQPRetryLevels.attemptHeader]?.intValue.map(Int.init) ?? 0
    }

    /// Done: the broker forgets the message.
    public func ack() { engine.settle(token, .ack) }

    /// Failed for now: with `requeue` the broker delivers it again (counted against the queue's delivery limit).
    public func nack(requeue: Bool = true) { engine.settle(token, requeue ? .requeue : .deadLetter) }

    /// Never going to work: the message goes to the queue's dead-letter exchange.
    public func reject() { engine.settle(token, .deadLetter) }
}

/// Identifies a delivery on the connection it arrived on; acks for an older connection are dropped (the broker
/// has already requeued those messages).
struct AckToken: Sendable, Hashable {
    let generation: UInt64
    let channel: UInt16
    let deliveryTag: UInt64
}

enum Settlement: Sendable {
    case ack
    case requeue
    case deadLetter
}

/// The deliveries of one subscription, in order. Ends after `cancel()` once buffered deliveries were handed out,
/// or when the connection shuts down.
public struct AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery

    let stream: AsyncStream<AMQPDelivery>
    let id: Int
    let engine: AMQPEngine
    public let queue: String

    public func makeAsyncIterator() -> AsyncStream<AMQPDelivery>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// Stops the subscription (`basic.cancel`); deliveries already received are still handed out.
    public func cancel() { engine.cancelConsumer(id) }
}
