import AMQPClient
import AsyncHTTPClient
import Foundation
import Logging
import MostradorContracts
import NIOCore

/// Asks an OpenAI-compatible chat endpoint (`/v1/chat/completions`: Ollama, llama.cpp, vLLM…) for the label, and
/// falls back to the local model when it fails, answers nonsense, or takes longer than `timeout`.
struct LLMClassifier: Sendable {
    let client: HTTPClient
    let endpoint: String
    let model: String
    let apiKey: String?
    let timeout: Duration
    let fallback: TicketClassifier
    let logger: Logger

    static let prompt = """
        Eres el clasificador de un servicio técnico. Lee el problema que describe un cliente y responde con una \
        sola palabra: Hardware si la causa es una pieza física dañada o que hay que reparar o reemplazar (no \
        enciende, batería, pantalla rota, derrame de líquido, ruido del disco, atasco de papel, tóner…), o \
        Software si la causa es el sistema, un programa, una configuración, una cuenta, una contraseña, un virus \
        o un controlador. Responde solo Hardware o Software.
        """

    /// `https://host:port` or a full `…/chat/completions` URL.
    static func endpoint(from url: String) -> String {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/chat/completions") { return base }
        return base.hasSuffix("/v1") ? base + "/chat/completions" : base + "/v1/chat/completions"
    }

    func classify(_ text: String) async -> Classification {
        let local = fallback.classify(text)
        guard let label = await ask(text) else { return local }
        // The LLM gives no probability: agreeing with the local model keeps the higher confidence.
        let confidence = label == local.label ? max(local.confidence, 0.9) : 0.75
        return Classification(
            label: label, confidence: confidence, topTerms: fallback.topTerms(text, towards: label),
            modelVersion: "llm:\(model)")
    }

    private func ask(_ text: String) async -> TicketCategory? {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        let body: [String: Any] = [
            "model": model, "temperature": 0, "max_tokens": 5,
            "messages": [
                ["role": "system", "content": Self.prompt], ["role": "user", "content": String(text.prefix(4000))],
            ],
        ]
        do {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 200,
                let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
                let choices = object["choices"] as? [[String: Any]],
                let message = choices.first?["message"] as? [String: Any],
                let content = (message["content"] as? String)?.lowercased()
            else {
                logger.warning(
                    "LLM answered badly: using the local model", metadata: ["status": "\(response.status.code)"])
                return nil
            }
            let hardware = content.contains("hardware")
            let software = content.contains("software")
            guard hardware != software else {
                logger.warning(
                    "LLM gave no clear label: using the local model", metadata: ["answer": "\(content.prefix(40))"])
                return nil
            }
            return hardware ? .hardware : .software
        } catch {
            logger.warning("LLM unavailable: using the local model", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
