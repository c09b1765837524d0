import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A fast stand-in for the WhatsApp bridge that counts what reaches it, for the outbound benchmark.
struct BridgeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "Counting bridge: accepts /enviar-mensaje, reports received and unique messages at GET /stats."
    )

    @Option var port = 8099
    @Option var token = "bench-bridge"

    final class Counter: Sendable {
        struct State {
            var requests = 0
            var keys: Set<String> = []
            var first: ContinuousClock.Instant?
            var last: ContinuousClock.Instant?
        }
        let state = Mutex(State())
    }

    func run() async throws {
        let counter = Counter()
        let token = "Bearer \(token)"
        let router = Router()
        router.post("enviar-mensaje") { request, _ -> Response in
            guard request.headers[.authorization] == token else { return Response(status: .unauthorized) }
            _ = try await request.body.collect(upTo: 1 << 20)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? UUID().uuidString
            counter.state.withLock { state in
                state.requests += 1
                state.keys.insert(key)
                let now = ContinuousClock.now
                if state.first == nil { state.first = now }
                state.last = now
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"enviado"}"#)))
        }
        router.get("health") { _, _ in "ok" }
        router.get("stats") { _, _ -> Response in
            let (requests, unique, seconds): (Int, Int, Double) = counter.state.withLock { state in
                let span = (state.last ?? .now) - (state.first ?? .now)
                return (
                    state.requests, state.keys.count,
                    Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18
                )
            }
            let body = #"{"requests":\#(requests),"unique":\#(unique),"seconds":\#(seconds)}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
