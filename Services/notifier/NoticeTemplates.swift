import Foundation
import MostradorContracts

/// The notifier's texts: WhatsApp notices to customers (Spanish and English) and notification titles and messages
/// for agents and web customers. Operators replace the file with `MOSTRADOR_NOTIFIER_TEMPLATES`.
struct NoticeTemplates: Sendable, Decodable {
    struct Text: Sendable, Decodable {
        let title: String
        let message: String
    }

    /// A WhatsApp template registered with Meta that stands for a notice once a Cloud API conversation's 24-hour
    /// window has closed: its name and language there, and its body's parameters in order (`{nombre}`…).
    struct MetaTemplate: Sendable, Decodable {
        let nombre: String
        let idioma: String
        let parametros: [String]
    }

    let whatsapp: [String: [String: String]]
    let agentes: [String: Text]
    let clientes: [String: Text]
    /// By notice and language (`es`, `en`); optional: without one, a notice is not sent outside the window.
    var plantillasMeta: [String: [String: MetaTemplate]]? = nil

    enum CodingKeys: String, CodingKey {
        case whatsapp, agentes, clientes
        case plantillasMeta = "plantillas_meta"
    }

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

    /// The Meta template standing for notice `name` in `language` (Spanish when that language has none), its
    /// parameters filled in.
    func metaTemplate(_ name: String, language: String, values: [String: String]) -> RelayTemplate? {
        guard let variants = plantillasMeta?[name], let template = variants[language] ?? variants["es"] else {
            return nil
        }
        return RelayTemplate(
            name: template.nombre, language: template.idioma,
            parameters: template.parametros.map { Self.fill($0, values) })
    }

    func agent(_ kind: String, values: [String: String]) -> Text? {
        agentes[kind].map { Text(title: Self.fill($0.title, values), message: Self.fill($0.message, values)) }
    }

    func customer(_ kind: String, values: [String: String]) -> Text? {
        clientes[kind].map { Text(title: Self.fill($0.title, values), message: Self.fill($0.message, values)) }
    }
}
