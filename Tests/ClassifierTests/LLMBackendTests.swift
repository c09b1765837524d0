import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MostradorContracts
import MostradorServiceKit
import NIOCore
import Synchronization
import TestSupport
import Testing

@testable import MostradorClassifier

/// The optional LLM backend against a fake OpenAI-compatible server.
@Suite("LLM backend with local fallback")
struct LLMBackendTests {
    final class FakeLLM: Sendable {
        enum Behaviour: Sendable { case answer(String), garbage, status(Int), hang }
        let port: Int
        let task: Task<Void, any Error>

        init() async throws {
            port = try freePort()
            let box = Box()
            let router = Router()
            router.post("v1/chat/completions") { request, _ -> Response in
                let data = try await request.body.collect(upTo: 1 << 20)
                let object =
                    (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: Any] ?? [:]
                let summary = [
                    "model": object["model"] as? String ?? "",
                    "system": ((object["messages"] as? [[String: String]])?.first?["role"]) ?? "",
                    "user": ((object["messages"] as? [[String: String]])?.last?["content"]) ?? "",
                ]
                box.requests.withLock { $0.append(summary) }
                switch box.behaviour.withLock({ $0 }) {
                case .answer(let text):
                    let body = #"{"choices":[{"message":{"role":"assistant","content":"\#(text)"}}]}"#
                    return Response(
                        status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
                case .garbage:
                    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "<html>")))
                case .status(let code):
                    return Response(status: .init(code: code))
                case .hang:
                    try await Task.sleep(for: .seconds(5))
                    return Response(status: .ok)
                }
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            task = Task { try await app.runService(gracefulShutdownSignals: []) }
            self.box = box
            for _ in 0..<100 {
                if (try? await HTTP.get("http://127.0.0.1:\(port)/").status) != nil { break }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let box: Box
        final class Box: Sendable {
            let behaviour = Mutex(Behaviour.answer("Hardware"))
            let requests = Mutex([[String: String]]())
        }
        func set(_ behaviour: Behaviour) { box.behaviour.withLock { $0 = behaviour } }
        var requestCount: Int { box.requests.withLock { $0.count } }
        var lastRequest: [String: String]? { box.requests.withLock { $0.last } }
    }

    static let local = ClassifierModelTests.heldOutModel

    /// A generous timeout where the LLM must answer (tests run in parallel on 2 cores), a short one where it hangs.
    func makeClassifier(_ server: FakeLLM, timeout: Duration = .seconds(10)) -> LLMClassifier {
        LLMClassifier(
            chat: ChatCompletions(
                url: "http://127.0.0.1:\(server.port)", model: "test-model", apiKey: "k", timeout: timeout),
            fallback: Self.local, logger: Logger(label: "test"))
    }

    @Test func theLLMsAnswerIsUsedAndThePromptIsShort() async throws {
        let server = try await FakeLLM()
        defer { server.task.cancel() }
        server.set(.answer("Software"))
        let result = await makeClassifier(server).classify("la pantalla parpadea desde la actualizacion de drivers")
        #expect(result.label == .software)
        #expect(result.modelVersion == "llm:test-model")
        let request = try #require(server.lastRequest)
        #expect(request["model"] == "test-model")
        #expect(request["system"] == "system")
        #expect(request["user"] == "la pantalla parpadea desde la actualizacion de drivers")
    }

    @Test(arguments: [FakeLLM.Behaviour.garbage, .status(500), .hang, .answer("no estoy seguro")])
    func onErrorNonsenseOrTimeoutTheLocalModelAnswers(_ behaviour: FakeLLM.Behaviour) async throws {
        let server = try await FakeLLM()
        defer { server.task.cancel() }
        server.set(behaviour)
        let text = "se cayo la laptop y ya no prende"
        // The local model first: its first use trains it (seconds), which is not the timeout being measured.
        let expected = Self.local.classify(text)
        let started = ContinuousClock.now
        let result = await makeClassifier(server, timeout: .seconds(1)).classify(text)
        #expect(result == expected)
        // The hanging server sleeps 5 s: the answer must come from the 1 s timeout, not from the server.
        #expect(ContinuousClock.now - started < .seconds(4))
        #expect(server.requestCount == 1)
    }

    @Test func anUnreachableServerFallsBackToo() async throws {
        let classifier = LLMClassifier(
            chat: ChatCompletions(
                url: "http://127.0.0.1:\(try freePort())/v1/chat/completions", model: "m", apiKey: nil,
                timeout: .milliseconds(500)),
            fallback: Self.local, logger: Logger(label: "test"))
        #expect(await classifier.classify("olvide mi contraseña").label == .software)
    }

    @Test func endpointAcceptsABaseOrAFullURL() {
        #expect(ChatCompletions.endpoint(from: "http://h:11434") == "http://h:11434/v1/chat/completions")
        #expect(ChatCompletions.endpoint(from: "http://h:11434/v1/") == "http://h:11434/v1/chat/completions")
        #expect(ChatCompletions.endpoint(from: "http://h/v1/chat/completions") == "http://h/v1/chat/completions")
    }
}
