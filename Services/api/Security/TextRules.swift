import Foundation

/// What text the api accepts from anyone (visitors, agents, the WhatsApp bridge): one maximum message length for
/// every path, counted in characters and in Unicode scalars (a single character can carry thousands of combining
/// marks), and names without control characters, bidi overrides or piles of combining marks.
enum TextRules {
    /// The longest message anyone may write (technician, visitor, channel), in characters.
    static let maximumMessageLength = 4096
    /// …and in Unicode scalars: room for any real text (emoji sequences included), not for mark floods.
    static let maximumMessageScalars = 4 * maximumMessageLength
    static let maximumNameLength = 120
    static let maximumNameScalars = 2 * maximumNameLength
    /// Combining marks one character of a name may carry (Vietnamese needs two; "Zalgo" text hundreds), and one
    /// of a message (room for scripts that stack vowel signs and cantillation).
    static let maximumMarksPerCharacter = 4
    static let maximumMessageMarksPerCharacter = 8

    enum Problem: Error, Equatable {
        case empty
        case tooLong
        case forbiddenCharacters
    }

    // MARK: Messages

    /// A message, trimmed, with control characters other than tab and line breaks removed (NUL included):
    /// refused when empty, longer than the limit or with a character carrying a pile of combining marks; never cut.
    static func message(_ text: String) throws(Problem) -> String {
        var scalars = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars where !isDroppedFromMessages(scalar) {
            count += 1
            guard count <= maximumMessageScalars else { throw .tooLong }
            scalars.append(scalar)
        }
        let cleaned = String(scalars).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !cleaned.isEmpty else { throw .empty }
        guard cleaned.count <= maximumMessageLength else { throw .tooLong }
        guard cleaned.allSatisfy({ marks(in: $0) <= maximumMessageMarksPerCharacter }) else {
            throw .forbiddenCharacters
        }
        return cleaned
    }

    /// Whether `text` fits the message limit as it is (no trimming or cleaning), for fields stored verbatim.
    static func fitsMessage(_ text: String) -> Bool {
        text.unicodeScalars.count <= maximumMessageScalars && text.count <= maximumMessageLength
    }

    static func isDroppedFromMessages(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control && !["\t", "\n", "\r"].contains(scalar)
    }

    // MARK: Names

    /// A name someone typed: refused when it has invisible or direction-changing characters, too many
    /// combining marks on one character, or more than `maximumNameLength` characters (or twice as many scalars).
    static func name(_ text: String, minimumLength: Int = 1) throws(Problem) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.unicodeScalars.count <= maximumNameScalars else { throw .tooLong }
        guard !trimmed.unicodeScalars.contains(where: isForbiddenInName) else { throw .forbiddenCharacters }
        guard trimmed.allSatisfy({ marks(in: $0) <= maximumMarksPerCharacter }) else { throw .forbiddenCharacters }
        guard trimmed.count >= minimumLength else { throw .empty }
        guard trimmed.count <= maximumNameLength else { throw .tooLong }
        return trimmed
    }

    /// A name a channel reported (it cannot be sent back): forbidden characters and surplus marks removed,
    /// whitespace runs collapsed, cut to the limits; nil when nothing is left.
    static func cleanedName(_ text: String) -> String? {
        var result = ""
        var scalars = 0
        var lastWasSpace = true
        for character in text {
            if character.isWhitespace {
                if !lastWasSpace, scalars < maximumNameScalars {
                    result.append(" ")
                    scalars += 1
                }
                lastWasSpace = true
                continue
            }
            var kept = String.UnicodeScalarView()
            var marks = 0
            for scalar in character.unicodeScalars where !isForbiddenInName(scalar) {
                if isMark(scalar) {
                    marks += 1
                    if marks > maximumMarksPerCharacter { continue }
                }
                kept.append(scalar)
            }
            guard !kept.isEmpty, scalars + kept.count <= maximumNameScalars,
                result.count < maximumNameLength
            else {
                if kept.isEmpty { continue }
                break
            }
            result.unicodeScalars.append(contentsOf: kept)
            scalars += kept.count
            lastWasSpace = false
        }
        let trimmed = result.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Control and format characters (NUL, bidi embeddings, overrides and isolates U+202A–U+202E and
    /// U+2066–U+2069, zero-width characters), line and paragraph separators, and noncharacters.
    static func isForbiddenInName(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse: true
        default: scalar.properties.isNoncharacterCodePoint
        }
    }

    static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        [.nonspacingMark, .enclosingMark, .spacingMark].contains(scalar.properties.generalCategory)
    }

    static func marks(in character: Character) -> Int {
        character.unicodeScalars.reduce(0) { $0 + (isMark($1) ? 1 : 0) }
    }
}

extension TextRules.Problem {
    /// The 400 of a message field (`field` names it in the reason).
    func messageError(field: String? = nil) -> APIError {
        let subject = field.map { "El campo '\($0)'" } ?? "El mensaje"
        return switch self {
        case .empty: APIError.badRequest("\(subject) no puede estar vacío")
        case .tooLong: APIError.badRequest("\(subject) excede \(TextRules.maximumMessageLength) caracteres")
        case .forbiddenCharacters: APIError.badRequest("\(subject) tiene demasiados signos combinados en un carácter")
        }
    }

    /// The reason for a refused name.
    var nameReason: String {
        switch self {
        case .empty: "Escribe un nombre"
        case .tooLong: "El nombre excede \(TextRules.maximumNameLength) caracteres"
        case .forbiddenCharacters:
            "El nombre contiene caracteres de control, de dirección de texto o demasiados acentos combinados"
        }
    }
}
