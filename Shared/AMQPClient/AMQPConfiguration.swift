import Foundation

/// Where and how to connect: parsed from an `amqp://user:pass@host:port/vhost` URL.
public struct AMQPConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String
    /// Heartbeat interval negotiated with the broker (seconds; 0 disables).
    public var heartbeat: Int = 10
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`) and the management UI.
    public var connectionName: String = "mostrador"
    /// Maximum number of published messages awaiting the broker's confirm.
    public var confirmWindow: Int = 1000
    /// Timeout for opening the TCP connection.
    public var connectTimeout: Duration = .seconds(5)
    /// First and largest delay between reconnection attempts (exponential backoff with jitter).
    public var reconnectBackoff: ClosedRange<Duration> = .milliseconds(100)...(.seconds(10))
    /// How long a graceful shutdown waits for outstanding publisher confirms.
    public var drainTimeout: Duration = .seconds(10)
    /// How long a broker round trip (a declare, `queueDepth`, `get`) may take, including waiting for a connection.
    public var operationTimeout: Duration = .seconds(10)

    public init(
        host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest",
        virtualHost: String = "/"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
    }

    /// Parses `amqp://user:pass@host:port/vhost`; the vhost is percent-decoded (`%2F` is `/`, an empty path is `/`).
    public init(url string: String) throws(AMQPError) {
        guard let components = URLComponents(string: string), components.scheme == "amqp",
            let host = components.host, !host.isEmpty
        else {
            throw .invalidURL(string.redactingPassword)
        }
        self.init(
            host: host,
            port: components.port ?? 5672,
            user: components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "guest",
            password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? "guest"
        )
        let path = components.percentEncodedPath
        if path.isEmpty || path == "/" {
            virtualHost = "/"
        } else {
            guard let decoded = String(path.dropFirst()).removingPercentEncoding,
                !decoded.contains("/") || decoded == "/"
            else {
                throw .invalidURL(string.redactingPassword)
            }
            virtualHost = decoded
        }
    }

    /// The URL with the password hidden, for logs.
    public var redactedURL: String {
        let vhost = virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost
        return "amqp://\(user):***@\(host):\(port)/\(vhost)"
    }
}

extension String {
    /// An AMQP URL with its password replaced, safe to log or put in an error.
    var redactingPassword: String {
        guard var components = URLComponents(string: self), components.password != nil else { return self }
        components.password = "***"
        return components.string ?? "amqp://***"
    }
}
