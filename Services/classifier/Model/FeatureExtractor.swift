import Foundation

/// Turns text into a sparse, L2-normalised vector of hashed features: word unigrams and bigrams, a negation mark
/// on the three words after "no"/"ni"/"not"/"sin", a cause mark on the three words after "es/era/is…" (a
/// not-the-cause mark after "no es"), and character 2–5-grams of each word (with its boundaries), which carry typos
/// and run-together words. Features are hashed straight from bytes, without building strings.
struct FeatureExtractor: Sendable, Codable, Equatable {
    var bits = 20
    var characterGrams = 2...5

    var dimension: Int { 1 << bits }
    private var mask: UInt64 { UInt64(dimension - 1) }

    /// Character grams count half as much as words: they catch typos without drowning the words.
    static let characterWeight: Float = 0.5
    static let negations: Set<String> = ["no", "ni", "not", "sin", "nunca", "never", "tampoco", "dont", "isnt"]
    /// Words that introduce what something is ("es la…", "era el…", "turns out…").
    static let copulas: Set<String> = ["es", "era", "fue", "son", "eran", "is", "was", "are", "were"]
    static let causeOpeners: Set<String> = [
        "resulta", "resulto", "turns", "turned", "culpa", "causa", "porque", "because",
    ]

    /// A feature: its hash bucket and value.
    struct Feature: Equatable {
        let index: Int
        var value: Float
    }

    func features(_ text: String) -> [Feature] {
        features(tokens: TextNormalizer.tokens(text))
    }

    func features(tokens: [String]) -> [Feature] {
        var raw: [Feature] = []
        raw.reserveCapacity(tokens.count * 20)
        var negated = 0
        var causePrefix: StaticString?
        var causeLeft = 0
        var previous: String?
        for token in tokens {
            raw.append(Feature(index: bucket("w:", token), value: 1))
            if let previous { raw.append(Feature(index: bucket("b:", previous, "_", token), value: 1)) }
            if negated > 0 {
                raw.append(Feature(index: bucket("n:", token), value: 1))
                negated -= 1
            }
            if causeLeft > 0, let causePrefix {
                raw.append(Feature(index: bucket(causePrefix, token), value: 1))
                causeLeft -= 1
            }
            if Self.negations.contains(token) { negated = 3 }
            if Self.copulas.contains(token) || Self.causeOpeners.contains(token) {
                causePrefix = previous.map(Self.negations.contains) == true ? "nk:" : "k:"
                causeLeft = 3
            }
            addCharacterGrams(of: token, to: &raw)
            previous = token
        }
        // Merge repeats: sorted by bucket, so sums run in the same order every time.
        raw.sort { $0.index < $1.index }
        var features: [Feature] = []
        features.reserveCapacity(raw.count)
        for feature in raw {
            if let last = features.last, last.index == feature.index {
                features[features.count - 1].value += feature.value
            } else {
                features.append(feature)
            }
        }
        var norm: Float = 0
        for index in features.indices {
            let value = 1 + log(features[index].value)
            features[index].value = value
            norm += value * value
        }
        norm = norm.squareRoot()
        if norm > 0 { for index in features.indices { features[index].value /= norm } }
        return features
    }

    private func addCharacterGrams(of token: String, to raw: inout [Feature]) {
        var bytes: [UInt8] = [0x3C]
        bytes.append(contentsOf: token.utf8)
        bytes.append(0x3E)
        let prefix = Self.fnv(Self.offset, "c:")
        bytes.withUnsafeBufferPointer { buffer in
            for length in characterGrams where buffer.count >= length {
                for start in 0...(buffer.count - length) {
                    var hash = prefix
                    for byte in buffer[start..<start + length] {
                        hash ^= UInt64(byte)
                        hash &*= Self.prime
                    }
                    raw.append(Feature(index: Int(hash & mask), value: Self.characterWeight))
                }
            }
        }
    }

    /// The readable words and word pairs of `tokens` with their buckets, to explain a decision.
    func terms(tokens: [String]) -> [(term: String, index: Int)] {
        var terms = tokens.map { ($0, bucket("w:", $0)) }
        for position in tokens.indices.dropFirst() {
            terms.append(
                (
                    "\(tokens[position - 1]) \(tokens[position])",
                    bucket("b:", tokens[position - 1], "_", tokens[position])
                ))
        }
        return terms
    }

    // MARK: Hashing

    static let offset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3

    static func fnv(_ hash: UInt64, _ text: StaticString) -> UInt64 {
        var hash = hash
        text.withUTF8Buffer { for byte in $0 { hash ^= UInt64(byte); hash &*= prime } }
        return hash
    }

    static func fnv(_ hash: UInt64, _ text: String) -> UInt64 {
        var hash = hash
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= prime
        }
        return hash
    }

    private func bucket(_ prefix: StaticString, _ token: String) -> Int {
        Int(Self.fnv(Self.fnv(Self.offset, prefix), token) & mask)
    }

    private func bucket(_ prefix: StaticString, _ first: String, _ separator: StaticString, _ second: String) -> Int {
        Int(Self.fnv(Self.fnv(Self.fnv(Self.fnv(Self.offset, prefix), first), separator), second) & mask)
    }

    /// FNV-1a of a whole string: stable across processes and machines (Swift's `Hasher` is seeded per process),
    /// so a saved model keeps working and the corpus split never moves.
    func bucket(_ feature: String) -> Int {
        Int(Self.fnv(Self.offset, feature) & mask)
    }
}
