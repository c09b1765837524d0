import AMQPClient
import Foundation
import Logging
import MostradorContracts
import MostradorServiceKit

/// Asks an OpenAI-compatible chat endpoint (`/v1/chat/completions`: Ollama, llama.cpp, vLLM…) for the label, and
/// falls back to the local model when it fails, answers nonsense, or takes longer than `timeout`.
struct LLMClassifier: Sendable {
    let chat: ChatCompletions
    let fallback: TicketClassifier
    let logger: Logger

    static let prompt = """
        Eres el clasificador de un servicio técnico. Lee el problema que describe un cliente y responde con una \
        sola palabra: Hardware si la causa es una pieza física dañada o que hay que reparar o reemplazar (no \
        enciende, batería, pantalla rota, derrame de líquido, ruido del disco, atasco de papel, tóner…), o \
        Software si la causa es el sistema, un programa, una configuración, una cuenta, una contraseña, un virus \
        o un controlador. Responde solo Hardware o Software.
        """

    func classify(_ text: String) async -> Classification {
        let local = fallback.classify(text)
        guard let label = await ask(text) else { return local }
        // The LLM gives no probability: agreeing with the local model keeps the higher confidence.
        let confidence = label == local.label ? max(local.confidence, 0.9) : 0.75
        return Classification(
            label: label, confidence: confidence, topTerms: fallback.topTerms(text, towards: label),
            modelVersion: "llm:\(chat.model)")
    }

    private func ask(_ text: String) async -> TicketCategory? {
        do {
            let reply = try await chat.ask(system: Self.prompt, user: text, maxTokens: 5)
            guard let content = reply.content?.lowercased() else {
                logger.warning("LLM answered badly: using the local model", metadata: ["status": "\(reply.status)"])
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
