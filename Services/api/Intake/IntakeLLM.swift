import Foundation
import Logging
import MostradorServiceKit

/// The optional reader of customer messages for the intake: an OpenAI-compatible chat endpoint (the same
/// `MOSTRADOR_LLM_URL` the classifier asks for labels) asked for the fields as JSON. Its answer is validated — every
/// value must be words of the message itself, within bounds — and a field that fails is dropped; an error, a
/// timeout or an answer with nothing valid gives nil, and the local extractor alone reads the message. Never
/// required: without the setting, or when it fails, the intake works the same.
struct IntakeLLM: Sendable {
    let chat: ChatCompletions
    let logger: Logger

    static let prompt = """
        Eres el asistente de recepción de un servicio técnico. Del mensaje de un cliente extrae un objeto JSON con \
        estas claves y nada más: "nombre" (el nombre con que el cliente se presenta, o null), "equipo" (el equipo o \
        programa del que habla: tipo, marca y modelo como los escribió, o null), "activo" (el número de activo, \
        inventario o serie, solo el número, o null), "ubicacion" (el área, sucursal o piso, o null), "problema" (el \
        problema con las palabras del cliente, sin saludo ni presentación, o null) y "correccion" (true si corrige \
        algo que dijo antes, si no false). Copia los valores del mensaje; no inventes ni traduzcas. Responde solo \
        el JSON.
        """

    func read(_ text: String) async -> IntakeFacts? {
        do {
            let reply = try await chat.ask(system: Self.prompt, user: text, maxTokens: 400, json: true)
            guard let content = reply.content, let facts = Self.validated(content, message: text) else {
                logger.warning(
                    "LLM gave no usable intake fields: the local extractor reads the message",
                    metadata: ["status": "\(reply.status)"])
                return nil
            }
            return facts
        } catch {
            logger.warning("LLM unavailable: the local extractor reads the message", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The fields of the model's answer that are words of `message` (nil when none is, or the answer is not the
    /// JSON object asked for).
    static func validated(_ content: String, message: String) -> IntakeFacts? {
        // Some servers wrap JSON in a code fence.
        let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
            .trimmingCharacters(in: CharacterSet(charactersIn: "`")).replacingOccurrences(of: "json\n", with: "")
        guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
            return nil
        }
        let words = Set(Self.words(message))
        func field(_ key: String, maxLength: Int, share: Double, rule: (String) -> Bool = { _ in true }) -> String? {
            guard let value = (object[key] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines),
                !value.isEmpty, value.count <= maxLength, rule(value)
            else { return nil }
            let own = Self.words(value)
            guard !own.isEmpty else { return nil }
            let found = own.filter(words.contains).count
            return Double(found) / Double(own.count) >= share ? value : nil
        }
        var facts = IntakeFacts()
        facts.name = field("nombre", maxLength: 80, share: 1) { value in
            (1...5).contains(value.split(separator: " ").count)
                && value.allSatisfy { $0.isLetter || " '-.".contains($0) }
        }
        facts.equipment = field("equipo", maxLength: 120, share: 0.75)
        facts.asset = field("activo", maxLength: 24, share: 1) { value in
            value.contains(where: \.isNumber) && !value.contains(" ")
        }
        facts.location = field("ubicacion", maxLength: 80, share: 0.75)
        facts.problem = field("problema", maxLength: 2000, share: 0.6) { $0.split(separator: " ").count >= 2 }
        facts.correction = object["correccion"] as? Bool ?? false
        guard facts.hasDetails || facts.problem != nil else { return nil }
        return facts
    }

    static func words(_ text: String) -> [String] {
        IntakeExtractor.tokens(Substring(text)).filter(\.isWord).map(\.key)
    }
}

extension IntakeFacts {
    /// What the local extractor read, with the LLM's validated fields in place of its own where the LLM gave one.
    func overlaid(with llm: IntakeFacts?) -> IntakeFacts {
        // "no sé", "sí", "listo" are read by their fixed phrases, whatever the model says.
        guard let llm, !unknown, !affirmative, !finished else { return self }
        var merged = self
        if let name = llm.name {
            merged.name = IntakeExtractor.titleCased(name.split(separator: " ").map { Substring($0) })
        }
        merged.equipment = llm.equipment ?? equipment
        merged.asset = llm.asset ?? asset
        merged.location = llm.location ?? location
        // A message that is only a name has no problem, whatever the model says.
        if !onlyName, !restatesProblem { merged.problem = llm.problem ?? problem }
        merged.correction = correction || llm.correction
        return merged
    }
}
