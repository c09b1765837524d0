import Foundation

/// Turns text into a sparse, L2-normalised vector of hashed features: word unigrams and bigrams, a negation mark
/// on the three words after "no"/"ni"/"not"/"sin", and character 2–5-grams of each word (with its boundaries),
/// which carry typos and run-together words.
struct FeatureExtractor: Sendable, Codable, Equatable {
    var bits = 20
    var characterGrams = 2...5

    var dimension: Int { 1 << bits }

    /// Character grams count half as much as words: they catch typos without drowning the words.
    static let characterWeight: Float = 0.5
    static let negations: Set<String> = ["no", "ni", "not", "sin", "nunca", "never", "tampoco", "dont", "isnt"]

    /// A feature: its hash bucket and value.
    struct Feature: Equatable {
        let index: Int
        var value: Float
    }

    /// Words that introduce what something is ("es la…", "era el…", "turns out…").
    static let copulas: Set<String> = ["es", "era", "fue", "son", "eran", "is", "was", "are", "were"]
    static let causeOpeners: Set<String> = [
        "resulta", "resulto", "turns", "turned", "culpa", "causa", "porque", "because",
    ]

    func features(_ text: String) -> [Feature] {
        let tokens = TextNormalizer.tokens(text)
        var counts: [Int: Float] = [:]
        counts.reserveCapacity(tokens.count * 12)
        var negated = 0
        // The words after "es/era/is…" name a cause; after "no es/not the…" they name what it is not.
        var causeMark: String?
        var causeLeft = 0
        for (position, token) in tokens.enumerated() {
            add("w:" + token, to: &counts)
            if position > 0 { add("b:" + tokens[position - 1] + "_" + token, to: &counts) }
            if negated > 0 {
                add("n:" + token, to: &counts)
                negated -= 1
            }
            if causeLeft > 0, let causeMark {
                add(causeMark + token, to: &counts)
                causeLeft -= 1
            }
            if Self.negations.contains(token) { negated = 3 }
            let previous = position > 0 ? tokens[position - 1] : ""
            if Self.copulas.contains(token) || Self.causeOpeners.contains(token) {
                causeMark = Self.negations.contains(previous) ? "nk:" : "k:"
                causeLeft = 3
            }
            let characters = Array("<" + token + ">")
            for length in characterGrams where characters.count >= length {
                for start in 0...(characters.count - length) {
                    add("c:" + String(characters[start..<start + length]), to: &counts, weight: Self.characterWeight)
                }
            }
        }
        // Sorted, so sums run in the same order every time (dictionary order differs between instances).
        var features = counts.map { Feature(index: $0.key, value: 1 + log($0.value)) }.sorted { $0.index < $1.index }
        let norm = features.reduce(0) { $0 + $1.value * $1.value }.squareRoot()
        if norm > 0 { for index in features.indices { features[index].value /= norm } }
        return features
    }

    /// The readable words and word pairs of `text` with their buckets, to explain a decision.
    func terms(_ text: String) -> [(term: String, index: Int)] {
        let tokens = TextNormalizer.tokens(text)
        var terms = tokens.map { ($0, bucket("w:" + $0)) }
        for position in tokens.indices.dropFirst() {
            terms.append(
                (
                    "\(tokens[position - 1]) \(tokens[position])",
                    bucket("b:" + tokens[position - 1] + "_" + tokens[position])
                ))
        }
        return terms
    }

    private func add(_ feature: String, to counts: inout [Int: Float], weight: Float = 1) {
        counts[bucket(feature), default: 0] += weight
    }

    /// FNV-1a: stable across processes and machines (Swift's `Hasher` is seeded per process), so a saved model
    /// keeps working.
    func bucket(_ feature: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in feature.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int(hash & UInt64(dimension - 1))
    }
}
