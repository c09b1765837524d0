import Foundation

/// The notifier's texts: WhatsApp notices to customers (Spanish and English) and notification titles and messages
/// for agents and web customers. Operators replace the file with `MOSTRADOR_NOTIFIER_TEMPLATES`.
struct NoticeTemplates: Sendable, Decodable {
    struct Text: Sendable, Decodable {
        let title: String
        let message: String
    }

    let whatsapp: [String: [String: String]]
    let agentes: [String: Text]
    let clientes: [String: Text]

    static func load(path: String?) throws -> NoticeTemplates {
        let url =
            path.map(URL.init(fileURLWithPath:)) ?? Bundle.module.url(forResource: "plantillas", withExtension: "json")!
        return try JSONDecoder().decode(NoticeTemplates.self, from: Data(contentsOf: url))
    }

    /// `{nombre}`, `{ticket}`, `{agente}`, `{motivo}` filled in.
    static func fill(_ text: String, _ values: [String: String]) -> String {
        values.reduce(text) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
    }

    func whatsapp(_ name: String, language: String, values: [String: String]) -> String? {
        guard let variants = whatsapp[name], let text = variants[language] ?? variants["es"] else { return nil }
        return Self.fill(text, values)
    }

    func agent(_ kind: String, values: [String: String]) -> Text? {
        agentes[kind].map { Text(title: Self.fill($0.title, values), message: Self.fill($0.message, values)) }
    }

    func customer(_ kind: String, values: [String: String]) -> Text? {
        clientes[kind].map { Text(title: Self.fill($0.title, values), message: Self.fill($0.message, values)) }
    }
}
