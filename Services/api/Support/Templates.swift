import Foundation

/// Predefined messages for `POST /ticket/{id}/notificar`, by name and language, with `{nombre}` and `{ticket}`
/// placeholders. Operators can replace the file (`MOSTRADOR_TEMPLATES_FILE`).
struct Templates: Sendable {
    let byName: [String: [String: String]]

    static let defaultName = "equipo listo"

    enum Problem: Error, CustomStringConvertible {
        case unreadable(String, String)
        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read templates \(path): \(reason)"
            }
        }
    }

    static func load(path: String?) throws -> Templates {
        let url =
            path.map(URL.init(fileURLWithPath:)) ?? Bundle.module.url(
                forResource: "Resources/plantillas", withExtension: "json")!
        do {
            let data = try Data(contentsOf: url)
            let decoded = try JSONDecoder().decode([String: [String: String]].self, from: data)
            return Templates(byName: Dictionary(uniqueKeysWithValues: decoded.map { ($0.key.lowercased(), $0.value) }))
        } catch {
            throw Problem.unreadable(url.path, "\(error)")
        }
    }

    var names: [String] { byName.keys.sorted() }

    /// The text for `name` in `language` (Spanish when that language is missing), filled in.
    func render(_ name: String, language: String, customerName: String?, ticketID: Int64) -> String? {
        guard let variants = byName[name.lowercased()], let text = variants[language] ?? variants["es"] else {
            return nil
        }
        let fallbackName = language == "en" ? "customer" : "cliente"
        return text.replacingOccurrences(of: "{nombre}", with: customerName ?? fallbackName)
            .replacingOccurrences(of: "{ticket}", with: String(ticketID))
    }
}
