import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A real HTTP server speaking the seed bridge protocol, for tests: records what it receives and can be switched
/// to disconnected (503), slow, failing (500) or refusing (400). By default it honours `Idempotency-Key` (a repeated
/// key is answered with the first id and not delivered to WhatsApp again); `honoursIdempotencyKey = false` makes it
/// the seed's bridge, which has no such key and delivers every request.
public final class FakeBridge: Sendable {
    public enum Mode: Sendable, Equatable {
        case normal
        case down
        case slow(Duration)
        case failing
        case refusing
        case rateLimited(retryAfter: Int)
    }

    /// One `POST /enviar-mensaje` as it arrived.
    public struct Received: Sendable {
        public let body: [String: String]
        public let bodyKeys: Set<String>
        public let authorization: String?
        public let idempotencyKey: String?
        /// W3C trace context the relay sent.
        public let traceparent: String?
        public let at: ContinuousClock.Instant
    }

    private struct State {
        var mode = Mode.normal
        var honoursIdempotencyKey = true
        var requests: [Received] = []
        var deliveredKeys: [String: String] = [:]
        var delivered: [Received] = []
        var healthChecks = 0
    }

    public let token: String
    public let port: Int
    private final class Box: Sendable {
        let state = Mutex(State())
    }
    private let box = Box()
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)" }

    public init(token: String = "bridge-secret") async throws {
        self.token = token
        let box = self.box
        let router = Router()
        router.post("enviar-mensaje") { request, _ -> Response in
            let data = try await request.body.collect(upTo: 1 << 20)
            let object =
                (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: Any] ?? [:]
            let received = Received(
                body: object.compactMapValues { $0 as? String }, bodyKeys: Set(object.keys),
                authorization: request.headers[.authorization],
                idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!],
                traceparent: request.headers[HTTPField.Name("traceparent")!],
                at: .now)
            let mode = box.state.withLock { state in
                state.requests.append(received)
                return state.mode
            }
            guard received.authorization == "Bearer \(token)" else {
                return Self.json(.unauthorized, ["error": "No autorizado"])
            }
            switch mode {
            case .down: return Self.json(.serviceUnavailable, ["error": "WhatsApp desconectado"])
            case .failing: return Self.json(.internalServerError, ["error": "fallo interno"])
            case .refusing: return Self.json(.badRequest, ["error": "número no válido"])
            case .rateLimited(let seconds):
                var response = Self.json(.tooManyRequests, ["error": "demasiados mensajes"])
                response.headers[HTTPField.Name("Retry-After")!] = String(seconds)
                return response
            case .slow(let delay): try await Task.sleep(for: delay)
            case .normal: break
            }
            let id: String = box.state.withLock { state in
                var key = received.idempotencyKey ?? UUID().uuidString
                if !state.honoursIdempotencyKey { key = UUID().uuidString }
                if let id = state.deliveredKeys[key] { return id }
                let id = "FAKE-\(state.delivered.count + 1)"
                state.deliveredKeys[key] = id
                state.delivered.append(received)
                return id
            }
            return Self.json(.ok, ["status": "enviado", "id": id])
        }
        router.get("health") { _, _ -> Response in
            let down = box.state.withLock { state in
                state.healthChecks += 1
                return state.mode == .down
            }
            return down ? Self.json(.serviceUnavailable, ["status": "desconectado"]) : Self.json(.ok, ["status": "ok"])
        }
        (port, task) = try await FakeServer.start(router, label: "fake-bridge")
    }

    deinit { task.cancel() }

    public var mode: Mode {
        get { box.state.withLock { $0.mode } }
        set { box.state.withLock { $0.mode = newValue } }
    }

    /// Whether a repeated `Idempotency-Key` is delivered once (true) or every time, as the seed's bridge does.
    public var honoursIdempotencyKey: Bool {
        get { box.state.withLock { $0.honoursIdempotencyKey } }
        set { box.state.withLock { $0.honoursIdempotencyKey = newValue } }
    }

    /// Every request, including refused ones and repeats.
    public var requests: [Received] { box.state.withLock { $0.requests } }
    /// Messages that reached "WhatsApp": accepted, once per idempotency key.
    public var delivered: [Received] { box.state.withLock { $0.delivered } }
    public var deliveredTexts: [String] { delivered.compactMap { $0.body["texto"] } }

    public func stop() { task.cancel() }

    private static func json(_ status: HTTPResponse.Status, _ object: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
