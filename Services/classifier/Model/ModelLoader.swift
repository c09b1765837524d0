import Foundation

/// Where the service's model comes from: a file written by `train`, or trained at start from the bundled corpus.
enum ModelLoader {
    static func load(path: String?) throws -> TicketClassifier {
        if let path {
            let artifact = try JSONDecoder().decode(
                LogisticRegression.Artifact.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            return TicketClassifier(model: LogisticRegression(artifact: artifact), version: artifact.version)
        }
        let examples = try Corpus.load(Corpus.bundledURL)
        return TicketClassifier.train(examples, version: version(of: examples))
    }

    /// `lr-ngrams-<examples>-<hash of the corpus>`: changes whenever the training data does.
    static func version(of examples: [Example]) -> String {
        let extractor = FeatureExtractor(bits: 32)
        let digest = extractor.bucket(examples.map { $0.label + "\t" + $0.text }.joined(separator: "\n"))
        return "lr-ngrams-\(examples.count)-\(String(digest, radix: 16))"
    }
}
