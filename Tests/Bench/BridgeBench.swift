import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A fast stand-in for the WhatsApp bridge that counts what reaches it, for the outbound benchmark.
struct BridgeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: """
            Counting bridge: accepts /enviar-mensaje, reports received and unique messages at GET /stats, and \
            counts texts ending in '#N' that reach a customer out of order.
            """
    )

    @Option var port = 8099
    @Option var token = "bench-bridge"

    final class Counter: Sendable {
        struct State {
            var requests = 0
            var keys: Set<String> = []
            var first: ContinuousClock.Instant?
            var last: ContinuousClock.Instant?
            /// The highest `#N` seen per customer, and how many arrived below it.
            var sequence: [String: Int] = [:]
            var outOfOrder = 0
        }
        let state = Mutex(State())
    }

    /// The seed bridge's request body.
    struct Message: Decodable {
        let numero: String
        let texto: String

        /// The customer and `N` of a text ending in `#N`.
        var numbered: (String, Int)? {
            guard let mark = texto.lastIndex(of: "#"), let number = Int(texto[texto.index(after: mark)...]) else {
                return nil
            }
            return (numero, number)
        }
    }

    func run() async throws {
        let counter = Counter()
        let token = "Bearer \(token)"
        let router = Router()
        router.post("enviar-mensaje") { request, _ -> Response in
            guard request.headers[.authorization] == token else { return Response(status: .unauthorized) }
            let body = try await request.body.collect(upTo: 1 << 20)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? UUID().uuidString
            let numbered = try? JSONDecoder().decode(Message.self, from: Data(body.readableBytesView)).numbered
            counter.state.withLock { state in
                state.requests += 1
                let fresh = state.keys.insert(key).inserted
                if fresh, let (customer, number) = numbered {
                    if number < state.sequence[customer, default: 0] { state.outOfOrder += 1 }
                    state.sequence[customer] = max(number, state.sequence[customer, default: 0])
                }
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
            let (requests, unique, seconds, outOfOrder): (Int, Int, Double, Int) = counter.state.withLock { state in
                let span = (state.last ?? .now) - (state.first ?? .now)
                return (
                    state.requests, state.keys.count,
                    Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18, state.outOfOrder
                )
            }
            let body = """
                {"requests":\(requests),"unique":\(unique),"seconds":\(seconds),"out_of_order":\(outOfOrder)}
                """
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
