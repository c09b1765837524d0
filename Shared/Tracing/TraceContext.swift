import Foundation
import Synchronization

/// W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/): the trace that a piece of work belongs
/// to, carried from the HTTP request that began it, through the api's outbox and AMQP headers, to the services that
/// consume it and the relay's HTTP call to WhatsApp. While a task runs under one (`TraceContext.$current`), every log
/// line it writes names `trace_id` (the services' log handlers read it), and every message it publishes carries it.
///
/// A `traceparent` that arrives over HTTP is a correlation id and nothing more: it is only ever logged and passed on,
/// never trusted for anything.
public struct TraceContext: Sendable, Hashable, CustomStringConvertible {
    /// 32 lowercase hex digits, not all zero.
    public let traceID: String
    /// 16 lowercase hex digits, not all zero: the current span (the hop) of the trace.
    public let spanID: String
    /// The span this one was started from, when it was started here (`child()`); nil for a span read off the wire.
    public let parentSpanID: String?
    public let sampled: Bool

    /// The trace the current task works for, if any.
    @TaskLocal public static var current: TraceContext?

    /// The header's name, in HTTP and in AMQP headers.
    public static let header = "traceparent"

    /// A new trace with a random id.
    public static func start(sampled: Bool = true) -> TraceContext {
        TraceContext(traceID: randomHex(bytes: 16), spanID: randomHex(bytes: 8), parentSpanID: nil, sampled: sampled)
    }

    /// The same trace, one hop further: a new span whose parent is this one.
    public func child() -> TraceContext {
        TraceContext(traceID: traceID, spanID: Self.randomHex(bytes: 8), parentSpanID: spanID, sampled: sampled)
    }

    /// Parses a `traceparent` value; nil when it is not one (version `ff`, wrong lengths, upper case, all-zero ids).
    /// Versions above 00 are read as 00 when they start like one, as the specification asks.
    public init?(traceparent value: some StringProtocol) {
        let bytes = Array(value.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-"), Self.isHex(bytes[0..<2]), Self.isHex(bytes[3..<35]),
            Self.isHex(bytes[36..<52]), Self.isHex(bytes[53..<55])
        else { return nil }
        let version = String(decoding: bytes[0..<2], as: UTF8.self)
        guard version != "ff",
            version == "00" ? bytes.count == 55 : (bytes.count == 55 || bytes[55] == UInt8(ascii: "-"))
        else { return nil }
        let traceID = String(decoding: bytes[3..<35], as: UTF8.self)
        let spanID = String(decoding: bytes[36..<52], as: UTF8.self)
        guard traceID != String(repeating: "0", count: 32), spanID != String(repeating: "0", count: 16),
            let flags = UInt8(String(decoding: bytes[53..<55], as: UTF8.self), radix: 16)
        else { return nil }
        self.init(traceID: traceID, spanID: spanID, parentSpanID: nil, sampled: flags & 1 == 1)
    }

    private init(traceID: String, spanID: String, parentSpanID: String?, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.sampled = sampled
    }

    /// The `traceparent` header value (version 00).
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    public var description: String { traceparent }

    private static func isHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
        }
    }

    /// `count` random bytes (a multiple of 8) as lowercase hex, never all zero: one `getrandom` per 8 bytes.
    private static func randomHex(bytes count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var generator = SystemRandomNumberGenerator()
        while true {
            var text = [UInt8]()
            text.reserveCapacity(count * 2)
            var zero = true
            for _ in 0..<(count / 8) {
                let word = generator.next()
                zero = zero && word == 0
                for shift in stride(from: 60, through: 0, by: -4) {
                    text.append(digits[Int((word >> UInt64(shift)) & 0xF)])
                }
            }
            if !zero { return String(decoding: text, as: UTF8.self) }
        }
    }
}

/// What a span did, in OpenTelemetry's terms.
public enum SpanKind: Int, Sendable {
    case `internal` = 1
    case server = 2
    case client = 3
    case producer = 4
    case consumer = 5
}

/// One unit of work of a trace (an HTTP request served, a message handled, a call made), recorded when it ends and
/// exported by the service's OTLP exporter when one runs (`OTEL_EXPORTER_OTLP_ENDPOINT`); otherwise `end()` is a
/// no-op.
public struct Span: Sendable {
    public var name: String
    public let kind: SpanKind
    public let context: TraceContext
    public let start: Date
    public var attributes: [String: String]
    public var failed = false

    /// A span that started at `start` (now by default).
    public init(
        _ name: String, kind: SpanKind, context: TraceContext, start: Date = Date(), attributes: [String: String] = [:]
    ) {
        self.name = name
        self.kind = kind
        self.context = context
        self.start = start
        self.attributes = attributes
    }

    /// Records the span as finished now (when spans are being exported).
    public func end() {
        guard SpanRecorder.shared.isEnabled else { return }
        SpanRecorder.shared.record(FinishedSpan(span: self, end: Date()))
    }
}

/// A span that ended.
public struct FinishedSpan: Sendable {
    public let span: Span
    public let end: Date
}

/// Finished spans waiting for the exporter: bounded, the oldest dropped (and counted) when the exporter falls behind.
public final class SpanRecorder: Sendable {
    public static let shared = SpanRecorder(capacity: 8192)

    private let enabled = Atomic<Bool>(false)
    private let state = Mutex<(spans: [FinishedSpan], dropped: Int)>(([], 0))
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    public var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Spans are kept from now on (the exporter calls it when it starts).
    public func enable() { enabled.store(true, ordering: .relaxed) }

    public func record(_ span: FinishedSpan) {
        state.withLock { state in
            if state.spans.count >= capacity {
                state.spans.removeFirst()
                state.dropped += 1
            }
            state.spans.append(span)
        }
    }

    /// Everything recorded so far, and how many were dropped since the last call.
    public func take() -> (spans: [FinishedSpan], dropped: Int) {
        state.withLock { state in
            defer { state = ([], 0) }
            return state
        }
    }
}
