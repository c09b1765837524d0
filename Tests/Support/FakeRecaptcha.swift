import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real HTTP server standing in for Google's reCAPTCHA `siteverify`: a token is good when it is `goodToken`
/// and comes with `secret`; every form it receives is recorded.
public final class FakeRecaptcha: Sendable {
    public let secret: String
    public let goodToken: String
    public let port: Int
    private let received: Forms

    /// The verification URL to give the api (`APISettings.recaptchaVerifyURL`).
    public var url: String { "http://127.0.0.1:\(port)/siteverify" }
    /// The `application/x-www-form-urlencoded` bodies received so far.
    public var forms: [String] { received.all }

    private init(secret: String, goodToken: String, port: Int, received: Forms) {
        self.secret = secret
        self.goodToken = goodToken
        self.port = port
        self.received = received
    }

    /// Runs `body` with the server listening on a free port; the server is shut down and awaited afterwards,
    /// also when `body` throws.
    public static func with<T>(
        secret: String = "s3cret", goodToken: String = "token-bueno", _ body: (FakeRecaptcha) async throws -> T
    ) async throws -> T {
        let forms = Forms()
        let router = Router()
        router.post("siteverify") { request, _ -> Response in
            let form = String(buffer: try await request.body.collect(upTo: 1 << 16))
            forms.append(form)
            let good = form.contains("response=\(goodToken)") && form.contains("secret=\(secret)")
            let answer =
                good
                ? #"{"success": true, "score": 0.9}"#
                : #"{"success": false, "error-codes": ["invalid-input-response"]}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
        var logger = Logger(label: "fake-recaptcha")
        logger.logLevel = .critical
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in announce.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let server = Task {
            defer { announce.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        func shutDown() async {
            server.cancel()
            _ = try? await server.value
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await shutDown()
            throw NotListening()
        }
        let fake = FakeRecaptcha(secret: secret, goodToken: goodToken, port: port, received: forms)
        do {
            let result = try await body(fake)
            await shutDown()
            return result
        } catch {
            await shutDown()
            throw error
        }
    }

    struct NotListening: Error {}

    private final class Forms: Sendable {
        private let received = Mutex<[String]>([])
        func append(_ form: String) { received.withLock { $0.append(form) } }
        var all: [String] { received.withLock { $0 } }
    }
}
