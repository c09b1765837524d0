import Foundation

/// Puts WhatsApp text in one canonical form before features are taken: lower case, no accents, letters repeated
/// three or more times cut to two ("siiiii" → "sii"), common chat abbreviations spelled out, emoji kept as tokens
/// of their own, everything else that is not a letter or digit turned into spaces.
enum TextNormalizer {
    static let abbreviations: [String: String] = [
        "q": "que", "k": "que", "xq": "porque", "pq": "porque", "porq": "porque", "xk": "porque",
        "tmb": "tambien", "tb": "tambien", "tmbn": "tambien", "x": "por", "xfa": "por favor", "porfa": "por favor",
        "pls": "please", "plz": "please", "d": "de", "ntp": "no te preocupes", "compu": "computadora",
        "lap": "laptop", "cel": "celular", "impresroa": "impresora", "contrasena": "contraseña", "pw": "password",
        "pwd": "password", "wifi": "wifi", "wi-fi": "wifi", "u": "you", "ur": "your", "pc": "computadora",
        "msj": "mensaje", "msg": "mensaje", "info": "informacion", "ya no": "ya no",
    ]

    /// Normalised tokens of `text`.
    static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var last: Character?
        var run = 0
        func flush() {
            guard !current.isEmpty else { return }
            if let expanded = abbreviations[current] {
                tokens.append(contentsOf: expanded.split(separator: " ").map(String.init))
            } else {
                tokens.append(current)
            }
            current = ""
        }
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        for character in folded {
            if character.isLetter || character.isNumber {
                if character == last {
                    run += 1
                    if run >= 2 && character.isLetter { continue }
                } else {
                    run = 0
                }
                last = character
                current.append(character)
            } else {
                flush()
                last = nil
                run = 0
                if character.unicodeScalars.contains(where: { $0.properties.isEmojiPresentation }) {
                    tokens.append(String(character))
                }
            }
        }
        flush()
        return tokens
    }
}
