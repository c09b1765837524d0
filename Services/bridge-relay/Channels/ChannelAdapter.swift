/// A message on its way to a customer.
struct OutboundMessage: Sendable {
    /// The AMQP message id: the same for every attempt, sent to the channel as an idempotency key.
    let idempotencyKey: String
    let recipient: String
    let text: String
}

/// What became of one attempt to send.
enum SendOutcome: Sendable, Equatable {
    /// Accepted by the channel, with its message id when it gave one.
    case sent(providerID: String?)
    /// The channel is down (503, connection refused or reset): park and wait for it.
    case channelDown(reason: String)
    /// Worth trying again later (timeout, 5xx, 429), no sooner than `retryAfter` when the channel said so.
    case transient(reason: String, retryAfter: Duration?)
    /// The channel refused this message for good (a 4xx about the message itself).
    case rejected(reason: String)
}

/// How a channel is reached: the seed bridge today, Meta's Cloud API or WAHA behind the same protocol later.
protocol ChannelAdapter: Sendable {
    var name: String { get }
    func send(_ message: OutboundMessage) async -> SendOutcome
    /// Whether the channel answers again: true, false, or nil when it cannot tell (no health endpoint).
    func probe() async -> Bool?
}
