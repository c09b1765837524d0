import Foundation
import Logging
import Metrics
import MostradorTracing
import Prometheus
import Synchronization

/// Process-wide logging and metrics set-up (each may be bootstrapped once per process).
public enum Observability {
    /// The registry `/metrics` exports; swift-metrics counters land here once `bootstrap` ran.
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    /// Installs the log handler (JSON lines or text, on standard error) and the Prometheus metrics backend.
    public static func bootstrap(_ configuration: ServiceConfiguration) {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let service = configuration.service
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap(
                { label, provider in
                    var handler = JSONLogHandler(label: label, service: service, metadataProvider: provider)
                    handler.logLevel = level
                    return handler
                }, metadataProvider: traceMetadata)
        case .text:
            LoggingSystem.bootstrap(
                { label, provider in
                    var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                    handler.logLevel = level
                    return handler
                }, metadataProvider: traceMetadata)
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// `trace_id` on every line written under a trace (an HTTP request, a consumed message and what follows).
    public static let traceMetadata = Logger.MetadataProvider {
        guard let trace = TraceContext.current else { return [:] }
        return ["trace_id": .string(trace.traceID)]
    }
}

/// One JSON object per line: `ts`, `level`, `service`, `logger`, `msg`, then the metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    let service: String

    public init(label: String, service: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.service = service
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)),
            "level": event.level.rawValue,
            "service": service,
            "logger": label,
            "msg": "\(event.message)",
        ]
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(metadata) { _, new in new }
        merged.merge(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged where object[key] == nil {
            object[key] = Self.plain(value)
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }

    static func plain(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map(plain)
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        }
    }
}
