import AMQPClient
import Foundation
import Hummingbird
import Prometheus

/// A condition `/health/ready` checks: `nil` when fine, otherwise why not.
public struct ReadinessCheck: Sendable {
    public let name: String
    public let problem: @Sendable () async -> String?
    /// A warning's problem leaves the service ready; operators see it under `warnings`.
    public let isWarning: Bool

    public init(_ name: String, problem: @escaping @Sendable () async -> String?) {
        self.name = name
        self.problem = problem
        isWarning = false
    }

    /// Something an operator should look at that does not stop the service from working (e.g. dead letters).
    public static func warning(_ name: String, _ problem: @escaping @Sendable () async -> String?) -> ReadinessCheck {
        ReadinessCheck(name: name, problem: problem, isWarning: true)
    }

    private init(name: String, problem: @escaping @Sendable () async -> String?, isWarning: Bool) {
        self.name = name
        self.problem = problem
        self.isWarning = isWarning
    }

    /// Ready when every connection is up with its topology declared.
    public static func broker(_ connections: [AMQPConnection]) -> ReadinessCheck {
        ReadinessCheck("broker") {
            let problems = connections.filter { !$0.isReady }.map { "\($0.configuration.connectionName): \($0.state)" }
            return problems.isEmpty ? nil : problems.joined(separator: "; ")
        }
    }
}

/// Who reaches a listener's operational routes, and so how much they are told.
public enum OperationalAudience: Sendable {
    /// The operations port (`MOSTRADOR_OPS_PORT`): readiness with each failing check and its reason, `/metrics`.
    case operators
    /// The public port: a bare readiness status; `/metrics` only to `Authorization: Bearer <metricsToken>`, and not
    /// at all without a token.
    case everyone(metricsToken: String?)
}

extension Router {
    /// `GET /health/live`, `GET /health/ready` (503 until every check passes) and, as `audience` allows,
    /// `GET /metrics` (Prometheus text).
    public func addOperationalRoutes(
        checks: [ReadinessCheck], registry: PrometheusCollectorRegistry, audience: OperationalAudience
    ) {
        get("health/live") { _, _ in
            jsonResponse(.ok, ["status": "ok"])
        }
        get("health/ready") { _, _ in
            var problems: [String: String] = [:]
            var warnings: [String] = []
            for check in checks {
                guard let problem = await check.problem() else { continue }
                if check.isWarning { warnings.append(problem) } else { problems[check.name] = problem }
            }
            guard case .operators = audience else {
                return problems.isEmpty
                    ? jsonResponse(.ok, ["status": "ready"])
                    : jsonResponse(.serviceUnavailable, ["status": "not_ready"])
            }
            var body: [String: Any] =
                problems.isEmpty ? ["status": "ready"] : ["status": "not_ready", "problems": problems]
            if !warnings.isEmpty { body["warnings"] = warnings }
            return jsonResponse(problems.isEmpty ? .ok : .serviceUnavailable, body)
        }
        let metrics = { @Sendable () -> Response in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
        switch audience {
        case .operators:
            get("metrics") { _, _ in metrics() }
        case .everyone(let token?):
            get("metrics") { request, _ in
                guard let presented = request.headers[.authorization], Self.sameSecret(presented, "Bearer \(token)")
                else {
                    var refusal = jsonResponse(.unauthorized, ["detail": "Se requiere el token de métricas"])
                    refusal.headers[.wwwAuthenticate] = "Bearer"
                    return refusal
                }
                return metrics()
            }
        case .everyone(nil):
            break
        }
    }

    /// Compares two secrets in time that does not depend on where they differ (only on the expected length).
    static func sameSecret(_ presented: String, _ expected: String) -> Bool {
        let lhs = Array(presented.utf8)
        let rhs = Array(expected.utf8)
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        for index in rhs.indices { difference |= rhs[index] ^ (index < lhs.count ? lhs[index] : 0) }
        return difference == 0
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
