import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// An admin's webhook receiver: records every `POST /hooks` with its headers and raw body, and checks the
/// `X-Mostrador-Signature` (`sha256=<hex HMAC-SHA256 of the raw body>`) against the secret it was given.
public final class FakeWebhookReceiver: Sendable {
    public struct Received: Sendable {
        public let event: String?
        public let delivery: String?
        public let signature: String?
        public let body: Data
        public let validSignature: Bool

        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }
    }

    public let port: Int
    public let secret: String
    private let state = State()
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)/hooks" }

    /// Listens on `port` (any free one when 0): a receiver that comes back after being down takes its old port.
    public init(secret: String, port: Int = 0) async throws {
        self.secret = secret
        let router = Router()
        let state = self.state
        router.post("hooks") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let signature = request.headers[HTTPField.Name("X-Mostrador-Signature")!]
            let expected =
                "sha256="
                + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
                .map { String(format: "%02x", $0) }.joined()
            state.received.withLock {
                $0.append(
                    Received(
                        event: request.headers[HTTPField.Name("X-Mostrador-Event")!],
                        delivery: request.headers[HTTPField.Name("X-Mostrador-Delivery")!], signature: signature,
                        body: body, validSignature: signature == expected))
            }
            return Response(status: state.failing.withLock { $0 } ? .serviceUnavailable : .noContent)
        }
        (self.port, task) = try await FakeServer.start(router, label: "fake-webhook-receiver", port: port)
    }

    private final class State: Sendable {
        let received = Mutex<[Received]>([])
        let failing = Mutex(false)
    }

    deinit { task.cancel() }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    public var requests: [Received] { state.received.withLock { $0 } }

    /// Answers 503 to everything while true.
    public var isFailing: Bool {
        get { state.failing.withLock { $0 } }
        set { state.failing.withLock { $0 = newValue } }
    }
}
