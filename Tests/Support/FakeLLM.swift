import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A real HTTP server speaking the OpenAI-compatible `POST /v1/chat/completions` (Ollama, llama.cpp, vLLM…):
/// it answers `{"choices": [{"message": {"role": "assistant", "content": <reply>}}]}` with the reply set now,
/// after `delay`, or with `status` when that is not 200; every user message it receives is recorded.
public final class FakeLLM: Sendable {
    public struct Behaviour: Sendable {
        public var reply = "{}"
        public var status = 200
        public var delay: Duration = .zero

        public init(reply: String = "{}", status: Int = 200, delay: Duration = .zero) {
            self.reply = reply
            self.status = status
            self.delay = delay
        }
    }

    public let port: Int
    private let state: Mutex<(behaviour: Behaviour, asked: [String])>
    private let server: Task<Void, any Error>

    /// The base URL to configure (`MOSTRADOR_LLM_URL`).
    public var url: String { "http://127.0.0.1:\(port)" }
    /// The user messages received so far.
    public var asked: [String] { state.withLock { $0.asked } }

    public func set(_ behaviour: Behaviour) { state.withLock { $0.behaviour = behaviour } }

    private init(port: Int, server: Task<Void, any Error>) {
        self.port = port
        state = Mutex((Behaviour(), []))
        self.server = server
    }

    /// Runs `body` with the server listening; it is stopped afterwards, also when `body` throws.
    public static func with<T>(_ body: (FakeLLM) async throws -> T) async throws -> T {
        let box = Box()
        let router = Router()
        router.post("v1/chat/completions") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let object = try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any]
            let messages = object?["messages"] as? [[String: Any]] ?? []
            let user = messages.last { $0["role"] as? String == "user" }?["content"] as? String ?? ""
            guard let fake = box.fake.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            let behaviour = fake.state.withLock { state in
                state.asked.append(user)
                return state.behaviour
            }
            if behaviour.delay > .zero { try await Task.sleep(for: behaviour.delay) }
            guard behaviour.status == 200 else { return Response(status: .init(code: behaviour.status)) }
            let answer: [String: Any] = [
                "id": "chatcmpl-fake", "object": "chat.completion",
                "choices": [["index": 0, "message": ["role": "assistant", "content": behaviour.reply]]],
            ]
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: answer))))
        }
        let (port, task) = try await FakeServer.start(router, label: "fake-llm")
        let fake = FakeLLM(port: port, server: task)
        box.fake.withLock { $0 = fake }
        defer { task.cancel() }
        return try await body(fake)
    }

    /// The server's handler is made before the fake it answers for.
    private final class Box: Sendable {
        let fake = Mutex<FakeLLM?>(nil)
    }
}
