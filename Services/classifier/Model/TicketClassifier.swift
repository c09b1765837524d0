import Foundation
import MostradorContracts

/// The verdict on one description.
struct Classification: Sendable, Equatable {
    let label: TicketCategory
    let confidence: Double
    let topTerms: [String]
    let modelVersion: String
}

/// Hardware or Software, with a confidence; below `threshold` the answer is `unknown` (a human decides).
struct TicketClassifier: Sendable {
    let model: LogisticRegression
    let version: String
    var threshold = 0.65

    /// Trains on `examples` (Hardware is the positive class).
    static func train(_ examples: [Example], version: String) -> TicketClassifier {
        let model = LogisticRegression.train(
            examples.filter { $0.label != "unknown" }.map { ($0.text, $0.label == "Hardware") })
        return TicketClassifier(model: model, version: version)
    }

    func classify(_ text: String) -> Classification {
        let tokens = TextNormalizer.tokens(text)
        let features = model.extractor.features(tokens: tokens)
        guard !features.isEmpty else {
            return Classification(label: .unknown, confidence: 0, topTerms: [], modelVersion: version)
        }
        let hardware = Double(LogisticRegression.sigmoid(model.margin(features)))
        let label: TicketCategory = hardware >= 0.5 ? .hardware : .software
        let confidence = max(hardware, 1 - hardware)
        return Classification(
            label: confidence >= threshold ? label : .unknown, confidence: confidence,
            topTerms: topTerms(tokens: tokens, towards: label), modelVersion: version)
    }

    /// The words that pushed hardest towards `label`.
    func topTerms(_ text: String, towards label: TicketCategory, count: Int = 5) -> [String] {
        topTerms(tokens: TextNormalizer.tokens(text), towards: label, count: count)
    }

    func topTerms(tokens: [String], towards label: TicketCategory, count: Int = 5) -> [String] {
        let sign: Float = label == .hardware ? 1 : -1
        var seen: Set<String> = []
        return model.extractor.terms(tokens: tokens)
            .map { (term: $0.term, weight: model.weights[$0.index] * sign) }
            .filter { $0.weight > 0 && seen.insert($0.term).inserted }
            .sorted { $0.weight > $1.weight }
            .prefix(count)
            .map(\.term)
    }
}
