import Foundation
import MostradorContracts

/// A labelled example: `{"text": "...", "label": "Hardware"|"Software"}` per line.
struct Example: Codable, Sendable, Equatable {
    let text: String
    let label: String
    /// Evaluation sets only: a hard case, of which kind (negation, cause, mixed, english, typo, short), in which
    /// language.
    var hard: Bool? = nil
    var kind: String? = nil
    var lang: String? = nil
}

enum Corpus {
    enum Problem: Error, CustomStringConvertible {
        case unreadable(String)
        case badLine(Int, String)
        var description: String {
            switch self {
            case .unreadable(let path): "cannot read \(path)"
            case .badLine(let line, let reason): "line \(line): \(reason)"
            }
        }
    }

    /// The corpus that ships with the service.
    static var bundledURL: URL { Bundle.module.url(forResource: "corpus", withExtension: "jsonl")! }

    static func load(_ url: URL) throws -> [Example] {
        guard let data = try? Data(contentsOf: url) else { throw Problem.unreadable(url.path) }
        var examples: [Example] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            // Blank lines, and the `{"_header": "…"}` an evaluation set opens with.
            guard !trimmed.isEmpty, !trimmed.hasPrefix("{\"_header\"") else { continue }
            guard let example = try? JSONDecoder().decode(Example.self, from: Data(trimmed.utf8)) else {
                throw Problem.badLine(number + 1, "not {\"text\", \"label\"} JSON")
            }
            guard ["Hardware", "Software", "unknown"].contains(example.label) else {
                throw Problem.badLine(number + 1, "label must be Hardware or Software, not \(example.label)")
            }
            examples.append(example)
        }
        return examples
    }

    /// A fixed 80/20 split by a stable hash of the normalised text (the same on every machine and run).
    static func split(_ examples: [Example]) -> (training: [Example], heldOut: [Example]) {
        let extractor = FeatureExtractor(bits: 30)
        var training: [Example] = []
        var heldOut: [Example] = []
        for example in examples {
            let key = TextNormalizer.tokens(example.text).joined(separator: " ")
            if extractor.bucket("split:" + key) % 5 == 0 { heldOut.append(example) } else { training.append(example) }
        }
        return (training, heldOut)
    }
}
