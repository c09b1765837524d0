import Foundation

/// What one customer message says about their ticket: the name they give, the device or software it is about,
/// its asset or serial number, where they are, and the problem (what is left once those are taken out). Spanish
/// (Mexican usage) and English; dictionaries, not a model, so every decision can be read in `IntakeVocabulary`.
struct IntakeFacts: Equatable, Sendable {
    var name: String?
    var equipment: String?
    var asset: String?
    var location: String?
    var problem: String?
    /// "no sé", "ni idea", "I don't know".
    var unknown = false
    /// "sí", "correcto", "that's right".
    var affirmative = false
    /// "listo", "no tengo fotos", "that's all".
    var finished = false
    /// "no, el equipo es…", "me equivoqué", "sorry, …": what it gives replaces what was stored.
    var correction = false
    /// "el problema es que…": the problem is restated, not added to.
    var restatesProblem = false
    /// The message is nothing but a name ("Lucía Hernández").
    var onlyName = false

    /// Something besides the problem: a name, a device, an asset number or a place.
    var hasDetails: Bool { name != nil || equipment != nil || asset != nil || location != nil }
}

/// The slot a question asked for: an answer is read in its light ("Lucía" answers "¿Cuál es tu nombre?").
enum IntakeSlot: String, Codable, Sendable {
    case name, problem, equipment
}

enum IntakeExtractor {
    /// A word or a punctuation mark of the message, with its folded form (lowercase, no accents) for matching.
    struct Token {
        let text: Substring
        let key: String
        var isWord: Bool { text.first.map { $0.isLetter || $0.isNumber } ?? false }
        var hasDigit: Bool { text.contains { $0.isNumber } }
        var isCapitalized: Bool { text.first?.isUppercase ?? false }
        var isAlphabetic: Bool { text.allSatisfy { $0.isLetter || $0 == "'" || $0 == "’" || $0 == "-" } }
    }

    static func fold(_ text: some StringProtocol) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
    }

    /// Words (letters, digits and the joiners of "S/N", "INV-2231", "I'm") and single punctuation marks.
    static func tokens(_ text: Substring) -> [Token] {
        var tokens: [Token] = []
        var index = text.startIndex
        func isWordCharacter(_ character: Character) -> Bool { character.isLetter || character.isNumber }
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace && character != "\n" {
                index = text.index(after: index)
                continue
            }
            if isWordCharacter(character) {
                var end = text.index(after: index)
                while end < text.endIndex {
                    let next = text[end]
                    if isWordCharacter(next) {
                        end = text.index(after: end)
                    } else if "/-'’_".contains(next), text.index(after: end) < text.endIndex,
                        isWordCharacter(text[text.index(after: end)])
                    {
                        end = text.index(after: end)
                    } else {
                        break
                    }
                }
                tokens.append(Token(text: text[index..<end], key: fold(text[index..<end])))
                index = end
            } else {
                let end = text.index(after: index)
                tokens.append(Token(text: text[index..<end], key: String(character)))
                index = end
            }
        }
        return tokens
    }

    /// Reads one message; `asked` is the question it answers, if any.
    static func facts(in raw: String, asked: IntakeSlot? = nil) -> IntakeFacts {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        var facts = IntakeFacts()
        let whole = IntakeVocabulary.normalizedAnswer(text)
        facts.unknown =
            IntakeVocabulary.unknownAnswers.contains(whole) || whole.hasPrefix("no se ")
            || whole.hasPrefix("no lo se")
        facts.affirmative = IntakeVocabulary.affirmativeAnswers.contains(whole)
        facts.finished = IntakeVocabulary.finishedAnswers.contains(whole)
        guard !text.isEmpty, !facts.unknown, !facts.affirmative, !facts.finished else { return facts }

        let tokens = tokens(Substring(text))
        let keys = tokens.map(\.key)
        facts.correction =
            IntakeVocabulary.correctionCues.contains { cue in keys.starts(with: cue) }
            || keys.containsSequence(["me", "equivoque"]) || keys.containsSequence(["i", "meant"])

        var used = Set<Int>()
        let name = findName(tokens, asked: asked, used: &used)
        facts.name = name
        facts.asset = findAsset(tokens, used: &used)
        facts.location = findLocation(tokens, used: &used)
        facts.equipment = findEquipment(tokens, used: &used)

        if let name, isOnlyName(tokens, asked: asked) {
            facts.name = name
            facts.onlyName = true
            return facts
        }
        if facts.name == nil, isOnlyName(tokens, asked: asked) {
            facts.name = titleCased(tokens.filter(\.isWord).map(\.text))
            facts.onlyName = true
            return facts
        }
        if let restated = restatedProblem(text, tokens: tokens) {
            facts.problem = restated
            facts.restatesProblem = true
            return facts
        }
        facts.problem = problem(in: text, asked: asked, facts: facts)
        return facts
    }

    // MARK: Name

    /// "soy José Ramírez", "me llamo Ana", "my name is John Smith", or a signature line ("Saludos,\nMaría López").
    static func findName(_ tokens: [Token], asked: IntakeSlot?, used: inout Set<Int>) -> String? {
        for start in tokens.indices {
            for opener in IntakeVocabulary.nameOpeners {
                guard start + opener.words.count < tokens.count,
                    Array(tokens[start..<start + opener.words.count].map(\.key)) == opener.words,
                    start == 0 || !tokens[start - 1].isWord || opener.words.count > 1
                        || IntakeVocabulary.greetingWords.contains(tokens[start - 1].key)
                else { continue }
                var words: [Int] = []
                var position = start + opener.words.count
                while position < tokens.count, words.count < 4 {
                    let token = tokens[position]
                    guard token.isWord, token.isAlphabetic, !IntakeVocabulary.notNameWords.contains(token.key)
                    else { break }
                    words.append(position)
                    position += 1
                }
                guard !words.isEmpty else { continue }
                let capitalized = words.allSatisfy { tokens[$0].isCapitalized }
                // "soy nuevo", "this is broken": lowercase after a weak opener is not a name.
                guard capitalized || opener.strong || asked == .name else { continue }
                used.formUnion(start..<(words.last! + 1))
                return titleCased(words.map { tokens[$0].text })
            }
        }
        // Asked for the name, a reply that starts with one: "Ana Ruiz, mi laptop no carga", "Patricia Gómez de
        // recursos humanos", "Óscar Beltrán. Ah, me equivoqué…".
        if asked == .name {
            let words = tokens.prefix {
                $0.isWord && $0.isAlphabetic && !IntakeVocabulary.notNameWords.contains($0.key)
            }
            let next = tokens.dropFirst(words.count).first
            if (1...4).contains(words.count),
                next == nil || [",", ".", ";", "\n", "de", "del", "from"].contains(next!.key)
            {
                used.formUnion(0..<words.count)
                return titleCased(words.map(\.text))
            }
        }
        // A signature: the last line alone, two or three capitalised words, after another line.
        let lines = tokens.split { $0.key == "\n" }
        if lines.count >= 2, let last = lines.last {
            let words = last.filter(\.isWord)
            if (2...3).contains(words.count), words.count == last.filter({ $0.key != "." && $0.key != "," }).count,
                words.allSatisfy({
                    $0.isCapitalized && $0.isAlphabetic && !IntakeVocabulary.notNameWords.contains($0.key)
                })
            {
                if let first = tokens.firstIndex(where: { $0.text.startIndex == last.first!.text.startIndex }) {
                    used.formUnion(first..<(first + last.count))
                }
                return titleCased(words.map(\.text))
            }
        }
        return nil
    }

    /// The whole message, answering a question, is a name: one to four words (two at least unless the name was
    /// asked), no digits, none of them a word a problem or a greeting is made of.
    static func isOnlyName(_ tokens: [Token], asked: IntakeSlot?) -> Bool {
        // Unasked (a first message, an answer to the summary), two capitalised words are not taken for a name:
        // "Body Text", "Buen Día".
        guard asked != nil else { return false }
        let words = tokens.filter(\.isWord)
        let punctuation = tokens.filter { !$0.isWord && !".,!¡\n".contains($0.key) }
        guard punctuation.isEmpty, (asked == .name ? 1 : 2)...4 ~= words.count else { return false }
        guard words.allSatisfy({ $0.isAlphabetic && !IntakeVocabulary.notNameWords.contains($0.key) })
        else { return false }
        guard !words.contains(where: { IntakeVocabulary.greetingWords.contains($0.key) }) else { return false }
        // Unasked, a name is written as one: "Lucía Hernández", not "ayuda urgente".
        return asked == .name || words.allSatisfy(\.isCapitalized)
    }

    static func titleCased(_ words: [Substring]) -> String {
        words.map { word in
            word.contains(where: \.isUppercase) ? String(word) : word.prefix(1).uppercased() + word.dropFirst()
        }.joined(separator: " ")
    }

    // MARK: Asset

    /// "activo 10233", "No. de inventario: 4455", "S/N 5CG1234XYZ", "número de serie ABC123", "service tag 7XK2M13".
    static func findAsset(_ tokens: [Token], used: inout Set<Int>) -> String? {
        for start in tokens.indices {
            for cue in IntakeVocabulary.assetCues {
                guard start + cue.count <= tokens.count, Array(tokens[start..<start + cue.count].map(\.key)) == cue
                else { continue }
                var position = start + cue.count
                while position < tokens.count, IntakeVocabulary.assetFillers.contains(tokens[position].key) {
                    position += 1
                }
                guard position < tokens.count, tokens[position].isWord, tokens[position].hasDigit,
                    (2...24).contains(tokens[position].text.count)
                else { continue }
                used.formUnion(start...position)
                return String(tokens[position].text)
            }
        }
        return nil
    }

    // MARK: Location

    /// "de contabilidad", "del área de ventas", "sucursal Centro", "piso 3", "from accounting".
    static func findLocation(_ tokens: [Token], used: inout Set<Int>) -> String? {
        var found: [String] = []
        var position = 0
        while position < tokens.count {
            let key = tokens[position].key
            if ["sucursal", "branch", "piso", "planta", "floor", "oficina", "office", "tienda", "store"].contains(key),
                position + 1 < tokens.count, tokens[position + 1].isWord,
                tokens[position + 1].hasDigit || tokens[position + 1].isCapitalized
            {
                var end = position + 1
                if end + 1 < tokens.count, tokens[end + 1].isWord, tokens[end + 1].isCapitalized,
                    !IntakeVocabulary.notNameWords.contains(tokens[end + 1].key)
                {
                    end += 1
                }
                found.append(tokens[position...end].map(\.text).joined(separator: " "))
                used.formUnion(position...end)
                position = end + 1
                continue
            }
            // "the Guadalajara branch", "our Monterrey office".
            if ["the", "our"].contains(key), position + 2 < tokens.count, tokens[position + 1].isCapitalized,
                tokens[position + 1].isAlphabetic,
                ["branch", "office", "store", "warehouse", "plant"].contains(tokens[position + 2].key)
            {
                found.append("\(tokens[position + 1].text) \(tokens[position + 2].text)")
                used.formUnion(position...(position + 2))
                position += 3
                continue
            }
            if ["de", "del", "en", "from", "in"].contains(key) {
                var next = position + 1
                while next < tokens.count, IntakeVocabulary.locationFillers.contains(tokens[next].key) { next += 1 }
                if let (length, _) = IntakeVocabulary.departments.longestMatch(in: tokens, at: next) {
                    found.append(tokens[next..<next + length].map(\.text).joined(separator: " "))
                    used.formUnion(position..<next + length)
                    position = next + length
                    continue
                }
            }
            position += 1
        }
        return found.isEmpty ? nil : found.joined(separator: ", ")
    }

    // MARK: Equipment

    /// A device type ("laptop", "impresora"), a brand with its model ("Dell Latitude 5420", "HP"), or a software
    /// product ("Outlook", "Aspel SAE"): "laptop Dell Latitude 5420", "impresora HP", "Aspel SAE".
    static func findEquipment(_ tokens: [Token], used: inout Set<Int>) -> String? {
        var type: String?
        var brand: String?
        var position = 0
        while position < tokens.count {
            if type == nil, let (length, _) = IntakeVocabulary.deviceTypes.longestMatch(in: tokens, at: position) {
                type = tokens[position..<position + length].map(\.text).joined(separator: " ")
                used.formUnion(position..<position + length)
                position += length
                continue
            }
            if brand == nil, let (length, _) = IntakeVocabulary.brands.longestMatch(in: tokens, at: position) {
                var end = position + length
                while end < tokens.count, end - position < length + 3, isModelToken(tokens[end]) { end += 1 }
                brand = tokens[position..<end].map(\.text).joined(separator: " ")
                used.formUnion(position..<end)
                position = end
                continue
            }
            position += 1
        }
        var device: String?
        if let type, let brand {
            // "iPhone 12" names its type already.
            device = fold(brand).hasPrefix(fold(type)) ? brand : "\(type) \(brand)"
        } else {
            device = type ?? brand
        }
        // A software product named before any device is what the message is about ("el CONTPAQi no conecta con el
        // servidor"); a device named first is ("mi laptop no abre el Outlook").
        let deviceStart = used.min()
        for start in tokens.indices where device == nil || start < (deviceStart ?? 0) {
            guard let (length, product) = IntakeVocabulary.software.longestMatch(in: tokens, at: start),
                // "no es problema de Windows": what it is not about.
                device == nil
                    || !tokens[max(0, start - 4)..<start].contains(where: {
                        ["no", "not", "ni", "isn't", "isnt"].contains($0.key)
                    })
            else { continue }
            var end = start + length
            if end < tokens.count, tokens[end].isWord,
                tokens[end].hasDigit || IntakeVocabulary.softwareEditions.contains(tokens[end].key)
            {
                end += 1
            }
            used.formUnion(start..<end)
            return ([product] + tokens[(start + length)..<end].map { String($0.text) }).joined(separator: " ")
        }
        return device
    }

    /// What follows a brand as its model: "Latitude", "5420", "L3150", "ProBook", "T14".
    static func isModelToken(_ token: Token) -> Bool {
        guard token.isWord, !IntakeVocabulary.notNameWords.contains(token.key),
            !IntakeVocabulary.deviceTypes.words.contains(token.key)
        else { return false }
        return token.hasDigit || IntakeVocabulary.series.contains(token.key)
            || (token.isCapitalized && token.text.count <= 12 && !IntakeVocabulary.greetingWords.contains(token.key))
    }

    // MARK: Problem

    /// "el problema es que no imprime a color" → "no imprime a color".
    static func restatedProblem(_ text: String, tokens: [Token]) -> String? {
        let keys = tokens.map(\.key)
        for cue in IntakeVocabulary.problemRestatements {
            guard let start = keys.firstRange(of: cue)?.upperBound, start < tokens.count else { continue }
            var first = start
            if tokens[first].key == "que" || tokens[first].key == "that" { first += 1 }
            guard first < tokens.count else { return nil }
            let rest = text[tokens[first].text.startIndex...].trimmingCharacters(
                in: .whitespacesAndNewlines.union(.punctuationCharacters))
            return rest.isEmpty ? nil : rest
        }
        return nil
    }

    /// The sentences of the message that are not greetings, the customer introducing themselves or a sign-off,
    /// when what is left describes a problem.
    static func problem(in text: String, asked: IntakeSlot?, facts: IntakeFacts) -> String? {
        var kept: [String] = []
        for sentence in sentences(text) {
            var tokens = tokens(sentence)
            // Leading greetings ("Buen día,", "Hola qué tal").
            while let first = tokens.first, !first.isWord || IntakeVocabulary.greetingWords.contains(first.key) {
                tokens.removeFirst()
            }
            // A leading introduction: "soy José Ramírez de contabilidad," up to the next comma.
            var scratch = Set<Int>()
            if findName(Array(tokens.prefix(12)), asked: asked, used: &scratch) != nil,
                let first = scratch.min(), let last = scratch.max(), first <= 3
            {
                // The introduction, and what follows it up to the next comma when that is only where they are
                // ("de contabilidad"), not the problem ("y mi laptop no prende").
                tokens.removeFirst(last + 1)
                let clause = tokens.prefix { $0.key != "," && $0.key != ";" }
                if !clause.contains(where: { IntakeVocabulary.problemCues.contains($0.key) }) {
                    tokens.removeFirst(min(clause.count + 1, tokens.count))
                } else if tokens.first?.key == "," {
                    tokens.removeFirst()
                }
            }
            let words = tokens.filter(\.isWord)
            guard !words.isEmpty, !words.allSatisfy({ IntakeVocabulary.closingWords.contains($0.key) }) else {
                continue
            }
            // The signature line itself.
            if let name = facts.name, words.map(\.key) == IntakeExtractor.tokens(Substring(name)).map(\.key) {
                continue
            }
            guard let first = tokens.first(where: { $0.isWord }), let last = tokens.last else { continue }
            kept.append(
                String(sentence[first.text.startIndex..<last.text.endIndex]).trimmingCharacters(
                    in: .whitespacesAndNewlines))
        }
        let candidate = kept.joined(separator: ". ").trimmingCharacters(
            in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ",;:")))
        guard !candidate.isEmpty else { return nil }
        let words = tokens(Substring(candidate)).filter(\.isWord)
        let cues = words.filter { IntakeVocabulary.problemCues.contains($0.key) }.count
        let substantive = words.filter {
            !IntakeVocabulary.greetingWords.contains($0.key) && !IntakeVocabulary.closingWords.contains($0.key)
        }.count
        switch asked {
        case .problem:
            return substantive >= 2 || cues >= 1 ? candidate : nil
        case .name, .equipment:
            // An answer to another question carries a problem only when it plainly describes one.
            let detailWords = [facts.equipment, facts.asset, facts.location].compactMap { $0 }
                .map { tokens(Substring($0)).filter(\.isWord).count }.reduce(0, +)
            let rest = substantive - detailWords
            return (cues >= 1 && rest >= 2) || rest >= 5 ? candidate : nil
        case nil:
            return substantive >= 3 || (cues >= 1 && substantive >= 2) ? candidate : nil
        }
    }

    /// Sentences, split at . ! ? and line breaks (not at the dot of "No." or a decimal).
    static func sentences(_ text: String) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            let ends: Bool
            switch character {
            case "!", "?", "\n": ends = true
            case ".":
                let before = text[start..<index].split(whereSeparator: { !$0.isLetter }).last.map(fold)
                let digitAfter = next < text.endIndex && text[next].isNumber
                ends =
                    !digitAfter
                    && !["no", "num", "art", "tel", "ext", "s/n", "sr", "sra", "lic", "ing"].contains(before ?? "")
            default: ends = false
            }
            if ends {
                if start < index { result.append(text[start..<index]) }
                start = next
            }
            index = next
        }
        if start < text.endIndex { result.append(text[start...]) }
        return result.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }
}

extension Array where Element == String {
    func containsSequence(_ sequence: [String]) -> Bool {
        guard sequence.count <= count else { return false }
        return (0...(count - sequence.count)).contains { Array(self[$0..<$0 + sequence.count]) == sequence }
    }
}
