import Foundation

/// Binary logistic regression on hashed sparse features, trained with AdaGrad and L2 regularisation.
/// Deterministic: the same corpus and seed give the same model.
struct LogisticRegression: Sendable {
    var extractor: FeatureExtractor
    var weights: [Float]
    var bias: Float

    struct Hyperparameters: Sendable {
        var epochs = 25
        var learningRate: Float = 0.5
        var l2: Float = 1e-4
        var seed: UInt64 = 42
    }

    /// Trains on `(text, isPositive)` examples.
    static func train(
        _ examples: [(text: String, positive: Bool)], extractor: FeatureExtractor = FeatureExtractor(),
        hyperparameters: Hyperparameters = Hyperparameters()
    ) -> LogisticRegression {
        let vectors = examples.map { extractor.features($0.text) }
        var weights = [Float](repeating: 0, count: extractor.dimension)
        var squares = [Float](repeating: 1e-8, count: extractor.dimension)
        var bias: Float = 0
        var biasSquares: Float = 1e-8
        var order = Array(examples.indices)
        var generator = SplitMix64(seed: hyperparameters.seed)
        let rate = hyperparameters.learningRate
        for _ in 0..<hyperparameters.epochs {
            order.shuffle(using: &generator)
            for index in order {
                let vector = vectors[index]
                var margin = bias
                for feature in vector { margin += weights[feature.index] * feature.value }
                let error = sigmoid(margin) - (examples[index].positive ? 1 : 0)
                for feature in vector {
                    let gradient = error * feature.value + hyperparameters.l2 * weights[feature.index]
                    squares[feature.index] += gradient * gradient
                    weights[feature.index] -= rate * gradient / squares[feature.index].squareRoot()
                }
                biasSquares += error * error
                bias -= rate * error / biasSquares.squareRoot()
            }
        }
        return LogisticRegression(extractor: extractor, weights: weights, bias: bias)
    }

    /// Probability that `text` is the positive class.
    func probability(_ text: String) -> Double {
        Double(Self.sigmoid(margin(extractor.features(text))))
    }

    func margin(_ features: [FeatureExtractor.Feature]) -> Float {
        var margin = bias
        for feature in features { margin += weights[feature.index] * feature.value }
        return margin
    }

    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    // MARK: Saving

    /// A compact file: only the weights that matter.
    struct Artifact: Codable {
        var version: String
        var extractor: FeatureExtractor
        var bias: Float
        var indices: [Int32]
        var values: [Float]
    }

    func artifact(version: String, threshold: Float = 1e-4) -> Artifact {
        var indices: [Int32] = []
        var values: [Float] = []
        for (index, weight) in weights.enumerated() where abs(weight) > threshold {
            indices.append(Int32(index))
            values.append(weight)
        }
        return Artifact(version: version, extractor: extractor, bias: bias, indices: indices, values: values)
    }

    init(extractor: FeatureExtractor, weights: [Float], bias: Float) {
        self.extractor = extractor
        self.weights = weights
        self.bias = bias
    }

    init(artifact: Artifact) {
        var weights = [Float](repeating: 0, count: artifact.extractor.dimension)
        for (index, value) in zip(artifact.indices, artifact.values) { weights[Int(index)] = value }
        self.init(extractor: artifact.extractor, weights: weights, bias: artifact.bias)
    }
}

/// A small seeded generator, so training is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
