import AMQPClient
import Foundation
import Hummingbird
import Prometheus

/// A condition `/health/ready` checks: `nil` when fine, otherwise why not.
public struct ReadinessCheck: Sendable {
    public let name: String
    public let problem: @Sendable () async -> String?

    public init(_ name: String, problem: @escaping @Sendable () async -> String?) {
        self.name = name
        self.problem = problem
    }

    /// Ready when the connection is up with its topology declared.
    public static func broker(_ connection: AMQPConnection) -> ReadinessCheck {
        ReadinessCheck("broker") { connection.isReady ? nil : "\(connection.state)" }
    }
}

extension Router {
    /// `GET /health/live`, `GET /health/ready` (503 until every check passes) and `GET /metrics` (Prometheus text).
    public func addOperationalRoutes(checks: [ReadinessCheck], registry: PrometheusCollectorRegistry) {
        get("health/live") { _, _ in
            jsonResponse(.ok, ["status": "ok"])
        }
        get("health/ready") { _, _ in
            var problems: [String: String] = [:]
            for check in checks {
                if let problem = await check.problem() { problems[check.name] = problem }
            }
            if problems.isEmpty {
                return jsonResponse(.ok, ["status": "ready"])
            }
            return jsonResponse(.serviceUnavailable, ["status": "not_ready", "problems": problems])
        }
        get("metrics") { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
    }
}

/// A JSON response from a dictionary (for the few fixed-shape operational answers).
func jsonResponse(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(
        status: status,
        headers: [.contentType: "application/json; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(bytes: data))
    )
}
