import CRabbitMQ

/// What can go wrong talking to the broker.
public enum AMQPError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidURL(String)
    /// rabbitmq-c reported a library error (socket, heartbeat timeout, protocol); carries its status code.
    case library(code: Int32, message: String, during: String)
    /// The broker closed the channel or connection (e.g. 404 NOT_FOUND, 406 PRECONDITION_FAILED).
    case brokerClosed(code: UInt16, text: String, during: String)
    /// The broker answered a publish with `basic.nack`.
    case nacked
    /// A mandatory message could not be routed to any queue.
    case returned(code: UInt16, text: String)
    /// The connection was shut down before the operation completed.
    case shutdown
    case timeout(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid AMQP URL '\(url)' (expected amqp://user:pass@host:port/vhost)"
        case .library(let code, let message, let during): "rabbitmq-c error \(code) (\(message)) during \(during)"
        case .brokerClosed(let code, let text, let during): "broker closed \(during): \(code) \(text)"
        case .nacked: "the broker nacked the message"
        case .returned(let code, let text): "message returned as unroutable: \(code) \(text)"
        case .shutdown: "the AMQP connection was shut down"
        case .timeout(let what): "timed out: \(what)"
        }
    }

    static func library(_ status: Int32, during: String) -> AMQPError {
        .library(code: status, message: String(cString: amqp_error_string2(status)), during: during)
    }

    /// True for errors that a reconnect can cure (as opposed to a message the broker refused).
    var isConnectionLevel: Bool {
        switch self {
        case .library, .brokerClosed: true
        default: false
        }
    }
}
