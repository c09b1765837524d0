import AsyncHTTPClient
import Foundation
import Logging
import MostradorTracing
import NIOCore
import ServiceLifecycle

/// Sends the spans this process records (HTTP requests served, messages handled, calls to WhatsApp channels) to an
/// OpenTelemetry collector, as OTLP/HTTP with JSON bodies (`POST …/v1/traces`), once a second and once more at
/// shutdown. It runs when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` (the
/// collector's base URL, `/v1/traces` appended) is set; `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,…`) adds headers
/// (an API key: never logged) and `OTEL_SERVICE_NAME` overrides `mostrador-<service>`. Spans wait in a bounded
/// buffer: when the collector is away the oldest are dropped, and the next export says how many.
public struct OTLPTraceExporter: Service {
    let url: String
    let headers: [(String, String)]
    let serviceName: String
    let logger: Logger
    let interval: Duration
    /// Spans per request.
    static let batch = 512

    public init(
        url: String, headers: [(String, String)] = [], serviceName: String, logger: Logger,
        interval: Duration = .seconds(1)
    ) {
        self.url = url
        self.headers = headers
        self.serviceName = serviceName
        self.logger = logger
        self.interval = interval
    }

    /// The exporter the OpenTelemetry variables ask for, or nil when none is set.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, service: String, logger: Logger
    ) -> OTLPTraceExporter? {
        let url: String
        if let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !traces.isEmpty {
            url = traces
        } else if var base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            while base.hasSuffix("/") { base.removeLast() }
            url = base + "/v1/traces"
        } else {
            return nil
        }
        let headers = (environment["OTEL_EXPORTER_OTLP_HEADERS"] ?? "").split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil as (String, String)? }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            return (name, value.removingPercentEncoding ?? value)
        }
        let name = environment["OTEL_SERVICE_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "mostrador-\(service)"
        return OTLPTraceExporter(url: url, headers: headers, serviceName: name, logger: logger)
    }

    public func run() async throws {
        SpanRecorder.shared.enable()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        logger.notice(
            "exporting traces (OTLP/HTTP JSON)", metadata: ["url": "\(url)", "service_name": "\(serviceName)"])
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            failing = await export(client, failing: failing)
        }
        _ = await export(client, failing: failing)
        try await client.shutdown()
    }

    /// Sends what was recorded; returns whether the collector is failing (logged once until it recovers).
    func export(_ client: HTTPClient, failing: Bool) async -> Bool {
        let (spans, dropped) = SpanRecorder.shared.take()
        if dropped > 0 {
            logger.warning("trace spans dropped: the collector is behind or away", metadata: ["dropped": "\(dropped)"])
        }
        var failed = false
        for start in stride(from: 0, to: spans.count, by: Self.batch) {
            let chunk = spans[start..<min(start + Self.batch, spans.count)]
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: Self.body(chunk, serviceName: serviceName)))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 << 10)
                if !(200..<300).contains(response.status.code) {
                    failed = true
                    if !failing {
                        logger.warning(
                            "the trace collector refused spans", metadata: ["status": "\(response.status.code)"])
                    }
                }
            } catch {
                failed = true
                if !failing { logger.warning("the trace collector is unreachable", metadata: ["error": "\(error)"]) }
            }
        }
        if failing, !failed, !spans.isEmpty { logger.notice("the trace collector takes spans again") }
        return spans.isEmpty ? failing : failed
    }

    /// An `ExportTraceServiceRequest` in OTLP's JSON encoding (ids as hex, times as decimal strings of nanoseconds).
    static func body(_ spans: some Collection<FinishedSpan>, serviceName: String) -> Data {
        func attributes(_ values: [String: String]) -> [[String: Any]] {
            values.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": ["stringValue": $0.value]] }
        }
        func nanoseconds(_ date: Date) -> String {
            String(UInt64(max(0, date.timeIntervalSince1970) * 1_000_000_000))
        }
        let encoded: [[String: Any]] = spans.map { finished in
            let span = finished.span
            var object: [String: Any] = [
                "traceId": span.context.traceID, "spanId": span.context.spanID, "name": span.name,
                "kind": span.kind.rawValue, "startTimeUnixNano": nanoseconds(span.start),
                "endTimeUnixNano": nanoseconds(finished.end), "attributes": attributes(span.attributes),
                // STATUS_CODE_ERROR or STATUS_CODE_UNSET.
                "status": ["code": span.failed ? 2 : 0],
            ]
            if let parent = span.context.parentSpanID { object["parentSpanId"] = parent }
            return object
        }
        let request: [String: Any] = [
            "resourceSpans": [
                [
                    "resource": ["attributes": attributes(["service.name": serviceName])],
                    "scopeSpans": [["scope": ["name": "mostrador"], "spans": encoded]],
                ]
            ]
        ]
        return (try? JSONSerialization.data(withJSONObject: request, options: [.sortedKeys])) ?? Data()
    }
}
