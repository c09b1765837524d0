import Foundation

/// One broker node to connect to.
public struct AMQPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 5672) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Where and how to connect: parsed from an `amqp://user:pass@host:port/vhost` URL. Several nodes of a cluster are
/// written as a comma-separated host list, `amqp://user:pass@node1:5672,node2:5672,node3:5672/vhost`: the connection
/// uses one node at a time and moves on to the next when it cannot connect or loses its connection.
public struct AMQPConfiguration: Sendable, Equatable {
    /// The nodes, in the order they are tried (from a random one, so that many clients spread over a cluster).
    public var endpoints: [AMQPEndpoint]
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
        self.endpoints = [AMQPEndpoint(host: host, port: port)]
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
    }

    /// The first node's host (the only one unless the URL names several).
    public var host: String {
        get { endpoints[0].host }
        set { endpoints[0].host = newValue }
    }

    /// The first node's port.
    public var port: Int {
        get { endpoints[0].port }
        set { endpoints[0].port = newValue }
    }

    /// Parses `amqp://user:pass@host:port/vhost` or `amqp://user:pass@host1:port1,host2:port2,…/vhost`; the vhost is
    /// percent-decoded (`%2F` is `/`, an empty path is `/`); a node without a port uses 5672.
    public init(url string: String) throws(AMQPError) {
        let invalid = AMQPError.invalidURL(string.redactingPassword)
        // URLComponents reads one host only: split the host list off the authority and parse a one-host URL.
        guard string.hasPrefix("amqp://") else { throw invalid }
        let rest = string.dropFirst("amqp://".count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hostsStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        let hostList = authority[hostsStart...].split(separator: ",", omittingEmptySubsequences: false)
        var endpoints: [AMQPEndpoint] = []
        var components: URLComponents?
        for host in hostList {
            let single = "amqp://" + authority[..<hostsStart] + host + rest[authorityEnd...]
            guard let parsed = URLComponents(string: single), parsed.scheme == "amqp",
                let name = parsed.host, !name.isEmpty
            else {
                throw invalid
            }
            // An IPv6 literal keeps its brackets in URLComponents; the socket wants the bare address.
            let bare = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
            endpoints.append(AMQPEndpoint(host: bare, port: parsed.port ?? 5672))
            components = components ?? parsed
        }
        guard let components, !endpoints.isEmpty else { throw invalid }
        self.init(
            user: components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "guest",
            password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? "guest"
        )
        self.endpoints = endpoints
        let path = components.percentEncodedPath
        if path.isEmpty || path == "/" {
            virtualHost = "/"
        } else {
            guard let decoded = String(path.dropFirst()).removingPercentEncoding,
                !decoded.contains("/") || decoded == "/"
            else {
                throw invalid
            }
            virtualHost = decoded
        }
    }

    /// The URL with the password hidden, for logs.
    public var redactedURL: String { redactedURL(endpoints) }

    /// The URL of one node, with the password hidden, for logs.
    public func redactedURL(_ endpoint: AMQPEndpoint) -> String { redactedURL([endpoint]) }

    private func redactedURL(_ endpoints: [AMQPEndpoint]) -> String {
        let vhost = virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost
        return "amqp://\(user):***@\(endpoints.map(\.description).joined(separator: ","))/\(vhost)"
    }
}

extension String {
    /// An AMQP URL with its password replaced, safe to log or put in an error (also when it does not parse).
    var redactingPassword: String {
        guard let schemeEnd = range(of: "://") else { return self }
        let rest = self[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"),
            let colon = rest[..<at].firstIndex(of: ":")
        else { return self }
        return String(self[..<rest.index(after: colon)]) + "***" + self[at...]
    }
}
