import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// An OpenTelemetry collector's OTLP/HTTP traces endpoint (`POST /v1/traces`, JSON encoding): records every span it
/// receives with the `service.name` of its resource.
public final class FakeOTLPCollector: Sendable {
    public struct ReceivedSpan: Sendable {
        public let service: String
        public let traceID: String
        public let spanID: String
        public let parentSpanID: String?
        public let name: String
        public let kind: Int
        public let attributes: [String: String]
        public let failed: Bool
    }

    public let port: Int
    private let state = State()
    private let task: Task<Void, any Error>

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    public var url: String { "http://127.0.0.1:\(port)" }
    public var spans: [ReceivedSpan] { state.spans.withLock { $0 } }

    public init() async throws {
        let router = Router()
        let state = self.state
        router.post("v1/traces") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 16 << 20).readableBytesView)
            guard request.headers[.contentType] == "application/json",
                let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                let resources = object["resourceSpans"] as? [[String: Any]]
            else { return Response(status: .badRequest) }
            var spans: [ReceivedSpan] = []
            for resource in resources {
                let service = Self.attributes((resource["resource"] as? [String: Any])?["attributes"])["service.name"]
                for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] {
                        spans.append(
                            ReceivedSpan(
                                service: service ?? "", traceID: span["traceId"] as? String ?? "",
                                spanID: span["spanId"] as? String ?? "", parentSpanID: span["parentSpanId"] as? String,
                                name: span["name"] as? String ?? "", kind: span["kind"] as? Int ?? 0,
                                attributes: Self.attributes(span["attributes"]),
                                failed: (span["status"] as? [String: Any])?["code"] as? Int == 2))
                    }
                }
            }
            state.spans.withLock { $0 += spans }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: "{}")))
        }
        (port, task) = try await FakeServer.start(router, label: "fake-otlp-collector")
    }

    private final class State: Sendable {
        let spans = Mutex<[ReceivedSpan]>([])
    }

    static func attributes(_ value: Any?) -> [String: String] {
        var attributes: [String: String] = [:]
        for item in value as? [[String: Any]] ?? [] {
            if let key = item["key"] as? String,
                let string = (item["value"] as? [String: Any])?["stringValue"] as? String
            {
                attributes[key] = string
            }
        }
        return attributes
    }

    deinit { task.cancel() }
}
