import AsyncHTTPClient
import Foundation
import NIOCore

/// An OpenAI-compatible chat endpoint (`/v1/chat/completions`: Ollama, llama.cpp, vLLM…), as the classifier asks it
/// for a label and the api's intake for a customer message's fields (`MOSTRADOR_LLM_URL`, `_MODEL`, `_API_KEY`).
public struct ChatCompletions: Sendable {
    public let client: HTTPClient
    public let endpoint: String
    public let model: String
    public let apiKey: String?
    /// How long one answer may take.
    public let timeout: Duration

    /// `url`: a base (`http://host:11434`, `…/v1`) or a full `…/chat/completions` URL.
    public init(client: HTTPClient = .shared, url: String, model: String, apiKey: String?, timeout: Duration) {
        self.client = client
        endpoint = Self.endpoint(from: url)
        self.model = model
        self.apiKey = apiKey
        self.timeout = timeout
    }

    /// `https://host:port` or a full `…/chat/completions` URL.
    public static func endpoint(from url: String) -> String {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/chat/completions") { return base }
        return base.hasSuffix("/v1") ? base + "/chat/completions" : base + "/v1/chat/completions"
    }

    /// What the server answered: its status, and the assistant's text when the answer is a chat completion.
    public struct Reply: Sendable {
        public let status: UInt
        public let content: String?
    }

    /// One answer to `system` and `user` (cut at 4,000 characters) at temperature 0; `json` asks for a JSON object
    /// (`response_format`). Throws on transport errors and when `timeout` passes.
    public func ask(system: String, user: String, maxTokens: Int, json: Bool = false) async throws -> Reply {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        var body: [String: Any] = [
            "model": model, "temperature": 0, "max_tokens": maxTokens,
            "messages": [
                ["role": "system", "content": system], ["role": "user", "content": String(user.prefix(4000))],
            ],
        ]
        if json { body["response_format"] = ["type": "json_object"] }
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
            let choices = object["choices"] as? [[String: Any]],
            let message = choices.first?["message"] as? [String: Any]
        else { return Reply(status: response.status.code, content: nil) }
        return Reply(status: response.status.code, content: message["content"] as? String)
    }
}
