import AMQPClient
import ArgumentParser
import Foundation
import Logging

/// Options every service takes. A flag wins over its `MOSTRADOR_*` environment variable, which wins over the default.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("amqp-url"), help: "Broker URL (MOSTRADOR_AMQP_URL).")
    public var amqpURL: String?

    @Option(name: .customLong("http-host"), help: "Address to listen on (MOSTRADOR_HTTP_HOST, default 127.0.0.1).")
    public var httpHost: String?

    @Option(name: .customLong("http-port"), help: "Port for HTTP: health, metrics, API (MOSTRADOR_HTTP_PORT).")
    public var httpPort: Int?

    @Option(
        name: .customLong("ops-host"), help: "Address of the operations port (MOSTRADOR_OPS_HOST, default 127.0.0.1).")
    public var opsHost: String?

    @Option(
        name: .customLong("ops-port"),
        help: "Port for /health/* with details and /metrics (MOSTRADOR_OPS_PORT; unset: no operations port)."
    )
    public var opsPort: Int?

    @Option(name: .customLong("data-dir"), help: "Folder for databases and files (MOSTRADOR_DATA_DIR, default ./data).")
    public var dataDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (MOSTRADOR_LOG_LEVEL).")
    public var logLevel: String?

    @Option(name: .customLong("log-format"), help: "json or text (MOSTRADOR_LOG_FORMAT, default text).")
    public var logFormat: String?

    public init() {}

    /// The effective configuration for `service`, reading `environment` for whatever no flag set.
    public func resolve(
        service: String,
        defaultPort: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServiceConfiguration {
        func setting(_ flag: String?, _ variable: String) -> String? {
            if let flag, !flag.isEmpty { return flag }
            if let value = environment[variable], !value.isEmpty { return value }
            return nil
        }
        let url = setting(amqpURL, "MOSTRADOR_AMQP_URL") ?? "amqp://guest:guest@127.0.0.1:5679/%2F"
        var amqp: AMQPConfiguration
        do {
            amqp = try AMQPConfiguration(url: url)
        } catch {
            throw ValidationError("MOSTRADOR_AMQP_URL: \(error)")
        }
        amqp.connectionName = "mostrador-\(service)"

        func port(_ flag: Int?, _ variable: String) throws -> Int? {
            try (flag.map(String.init) ?? setting(nil, variable)).map { text in
                guard let port = Int(text), (0...65535).contains(port) else {
                    throw ValidationError("\(variable) must be a port number (0–65535), not '\(text)'")
                }
                return port
            }
        }
        func number(_ variable: String, default value: Double, within range: ClosedRange<Double>) throws -> Double {
            guard let text = setting(nil, variable) else { return value }
            guard let number = Double(text), range.contains(number) else {
                throw ValidationError("\(variable) must be a number within \(range), not '\(text)'")
            }
            return number
        }
        // How long a graceful shutdown waits for publisher confirms before giving up (messages stay for next start).
        let drainSeconds = try number("MOSTRADOR_DRAIN_TIMEOUT_SECONDS", default: 10, within: 0.1...600)
        amqp.drainTimeout = .milliseconds(Int64(drainSeconds * 1000))
        let idleSeconds = try number("MOSTRADOR_HTTP_IDLE_TIMEOUT_SECONDS", default: 30, within: 0.1...3600)
        let maximumConnections = try number("MOSTRADOR_MAX_CONNECTIONS", default: 4096, within: 1...1_000_000)
        guard maximumConnections == maximumConnections.rounded() else {
            throw ValidationError("MOSTRADOR_MAX_CONNECTIONS must be a whole number")
        }
        let limits = ConnectionLimits(
            idleTimeout: .milliseconds(Int64(idleSeconds * 1000)), maximumConnections: Int(maximumConnections))

        let levelText = setting(logLevel, "MOSTRADOR_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError(
                "MOSTRADOR_LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let formatText = setting(logFormat, "MOSTRADOR_LOG_FORMAT") ?? "text"
        guard let format = LogFormat(rawValue: formatText.lowercased()) else {
            throw ValidationError("MOSTRADOR_LOG_FORMAT must be json or text, not '\(formatText)'")
        }
        return ServiceConfiguration(
            service: service,
            amqp: amqp,
            httpHost: setting(httpHost, "MOSTRADOR_HTTP_HOST") ?? "127.0.0.1",
            httpPort: try port(httpPort, "MOSTRADOR_HTTP_PORT") ?? defaultPort,
            operations: try port(opsPort, "MOSTRADOR_OPS_PORT").map { port in
                OperationsListener(host: setting(opsHost, "MOSTRADOR_OPS_HOST") ?? "127.0.0.1", port: port)
            },
            metricsToken: setting(nil, "MOSTRADOR_METRICS_TOKEN"),
            limits: limits,
            dataDirectory: setting(dataDirectory, "MOSTRADOR_DATA_DIR") ?? "data",
            logLevel: level,
            logFormat: format,
            environment: environment
        )
    }
}

/// The operations listener: `MOSTRADOR_OPS_HOST` (default 127.0.0.1) and `MOSTRADOR_OPS_PORT`.
public struct OperationsListener: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }
}

/// Log output format.
public enum LogFormat: String, Sendable {
    case json
    case text
}

/// Everything a service needs to start, resolved from flags and environment.
public struct ServiceConfiguration: Sendable {
    public var service: String
    public var amqp: AMQPConfiguration
    public var httpHost: String
    public var httpPort: Int
    /// Where `/health/*` (with details) and `/metrics` are served; `nil`: no operations port.
    public var operations: OperationsListener?
    /// With a token, the public port also serves `/metrics` to `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// Idle timeout and connection cap of the public HTTP port.
    public var limits: ConnectionLimits
    public var dataDirectory: String
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// The process environment, for service-specific `MOSTRADOR_*` settings.
    public var environment: [String: String]

    public init(
        service: String, amqp: AMQPConfiguration, httpHost: String = "127.0.0.1", httpPort: Int = 0,
        operations: OperationsListener? = nil, metricsToken: String? = nil, limits: ConnectionLimits = .init(),
        dataDirectory: String = "data", logLevel: Logger.Level = .info, logFormat: LogFormat = .text,
        environment: [String: String] = [:]
    ) {
        self.service = service
        self.amqp = amqp
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.operations = operations
        self.metricsToken = metricsToken
        self.limits = limits
        self.dataDirectory = dataDirectory
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.environment = environment
    }

    /// A service-specific setting, e.g. `setting("MOSTRADOR_BRIDGE_URL")`.
    public func setting(_ name: String) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A numeric setting with a default; a value that does not parse is a configuration error.
    public func setting<Value: LosslessStringConvertible>(_ name: String, default value: Value) throws -> Value {
        guard let text = setting(name) else { return value }
        guard let parsed = Value(text) else { throw ValidationError("\(name): '\(text)' is not a valid value") }
        return parsed
    }

    public var logger: Logger {
        var logger = Logger(label: "mostrador.\(service)")
        logger.logLevel = logLevel
        return logger
    }
}
