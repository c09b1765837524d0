import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import Synchronization

/// A WebSocket client for tests: keeps every frame it receives and sends JSON frames.
public final class LiveClient: Sendable {
    public struct Frame: @unchecked Sendable {
        public let tipo: String
        public let data: [String: Any]
        public let at: ContinuousClock.Instant
        /// The frame as it arrived: `{"tipo": …, "data": …}`.
        public let text: String

        /// `data` as `T`.
        public func decode<T: Decodable>(_: T.Type) throws -> T {
            try JSONDecoder().decode(Envelope<T>.self, from: Data(text.utf8)).data
        }
    }

    private struct Envelope<T: Decodable>: Decodable {
        let data: T
    }

    private final class State: Sendable {
        let frames = Mutex([Frame]())
        let connected = Mutex(false)
        let closed = Mutex<Closed?>(nil)
    }

    /// How the connection ended: the server's close code (`policyViolation` is 1008) and reason, if it sent one.
    public struct Closed: Sendable {
        public let code: String?
        public let reason: String?
    }

    private let state = State()
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<Void, any Error>

    /// Whether the server accepted the upgrade.
    public var isConnected: Bool { state.connected.withLock { $0 } }
    /// Set once the connection has ended (or could not be made).
    public var closed: Closed? { state.closed.withLock { $0 } }

    /// Connects to `url` (ws://…), sending `headers` with the upgrade (e.g. a proxy's `X-Forwarded-For`), and keeps
    /// reading until `close()`.
    public init(url: String, headers: HTTPFields = [:]) {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        outgoing = continuation
        let state = self.state
        task = Task {
            var logger = Logger(label: "live-client")
            logger.logLevel = .critical
            defer { state.closed.withLock { $0 = $0 ?? Closed(code: nil, reason: nil) } }
            let closeFrame = try await WebSocketClient.connect(
                url: url, configuration: .init(additionalHeaders: headers), logger: logger
            ) { inbound, outbound, _ in
                state.connected.withLock { $0 = true }
                let writer = Task {
                    for await text in stream { try await outbound.write(.text(text)) }
                }
                defer { writer.cancel() }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message,
                        let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                    else { continue }
                    let frame = Frame(
                        tipo: object["tipo"] as? String ?? "", data: object["data"] as? [String: Any] ?? [:], at: .now,
                        text: text)
                    state.frames.withLock { $0.append(frame) }
                }
            }
            state.closed.withLock {
                $0 = Closed(code: closeFrame.map { "\($0.closeCode)" }, reason: closeFrame?.reason)
            }
        }
    }

    public var received: [Frame] { state.frames.withLock { $0 } }

    public func frames(_ tipo: String) -> [Frame] { received.filter { $0.tipo == tipo } }

    public func send(_ tipo: String, _ data: [String: Any] = [:]) {
        if let json = try? JSONSerialization.data(withJSONObject: ["tipo": tipo, "data": data]) {
            outgoing.yield(String(decoding: json, as: UTF8.self))
        }
    }

    public func sendRaw(_ text: String) { outgoing.yield(text) }

    /// Waits for a frame of `tipo` matching `predicate` (after `skip` earlier matches).
    public func wait(
        for tipo: String, timeout: Duration = .seconds(10), where predicate: ([String: Any]) -> Bool = { _ in true }
    )
        async -> Frame?
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let frame = received.last(where: { $0.tipo == tipo && predicate($0.data) }) { return frame }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Waits for a frame of `tipo` whose `data`, decoded as `T`, matches `predicate`; returns that `data`.
    public func wait<T: Decodable>(
        for tipo: String, as _: T.Type, timeout: Duration = .seconds(10), where predicate: (T) -> Bool = { _ in true }
    ) async -> T? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let decoded = received.filter { $0.tipo == tipo }.compactMap { try? $0.decode(T.self) }
            if let match = decoded.last(where: predicate) { return match }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the connection has ended; nil if it is still open after `timeout`.
    public func waitUntilClosed(timeout: Duration = .seconds(10)) async -> Closed? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let closed { return closed }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return closed
    }

    public func close() {
        outgoing.finish()
        task.cancel()
    }

    deinit { task.cancel() }
}
