import Foundation
import MostradorContracts
import Testing

@testable import MostradorClassifier

@Suite("The Hardware/Software model")
struct ClassifierModelTests {
    static let corpus = try! Corpus.load(Corpus.bundledURL)
    static let split = Corpus.split(corpus)
    static let heldOutModel = TicketClassifier.train(split.training, version: "test-80")

    @Test func normalisationFoldsCaseAccentsRepeatsAndAbbreviations() {
        #expect(
            TextNormalizer.tokens("La PANTALLA está rotaaaa!!! 😭 xq?") == [
                "la", "pantalla", "esta", "rotaa", "😭", "porque",
            ])
        #expect(TextNormalizer.tokens("q onda, tmb la compu") == ["que", "onda", "tambien", "la", "computadora"])
        #expect(TextNormalizer.tokens("") == [])
    }

    @Test func corpusIsLargeBalancedAndSplitEightyTwenty() {
        #expect(Self.corpus.count >= 1500)
        let hardware = Self.corpus.filter { $0.label == "Hardware" }.count
        #expect(Double(hardware) / Double(Self.corpus.count) > 0.45)
        #expect(Double(hardware) / Double(Self.corpus.count) < 0.55)
        let share = Double(Self.split.heldOut.count) / Double(Self.corpus.count)
        #expect(share > 0.17 && share < 0.23)
        // Stable: nothing in both halves.
        #expect(Set(Self.split.training.map(\.text)).isDisjoint(with: Self.split.heldOut.map(\.text)))
    }

    /// The held-out 20%: the label it gives at the service threshold is right at least 95% of the time, it gives
    /// one for most tickets (the rest go to a human), and with a label always forced it stays above 93%.
    @Test func heldOutAccuracy() {
        var forced = Evaluation()
        var served = Evaluation()
        var always = Self.heldOutModel
        always.threshold = 0
        for example in Self.split.heldOut {
            forced.add(gold: example.label, predicted: always.classify(example.text).label.rawValue)
            served.add(gold: example.label, predicted: Self.heldOutModel.classify(example.text).label.rawValue)
        }
        #expect(forced.accuracy >= 0.93, "\(forced.report)")
        #expect(served.decidedAccuracy >= 0.95, "\(served.report)")
        #expect(Double(served.total - served.unknownCount) / Double(served.total) >= 0.85, "\(served.report)")
    }

    /// The independent hold-out set (`Tests/Fixtures/classifier/holdout.jsonl`, written apart from the corpus and
    /// never used to train or tune; its header says how): the model trained on the corpus's 80% labels it at 95.5%
    /// (hard cases 94.7%) against 93.3% (91.6%) for a scikit-learn TF-IDF baseline on the same split
    /// (`Tests/Classifier/baseline.py`). The floors leave room for the corpus to change, not for a regression.
    @Test func independentHoldOutAccuracy() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/classifier/holdout.jsonl").standardized
        let examples = try Corpus.load(url)
        #expect(examples.count >= 600)
        #expect(examples.filter { $0.hard == true }.count * 3 >= examples.count)
        var all = Evaluation()
        var hard = Evaluation()
        var always = Self.heldOutModel
        always.threshold = 0
        for example in examples {
            let label = always.classify(example.text).label.rawValue
            all.add(gold: example.label, predicted: label)
            if example.hard == true { hard.add(gold: example.label, predicted: label) }
        }
        #expect(all.accuracy >= 0.93, "\(all.report)")
        #expect(hard.accuracy >= 0.92, "\(hard.report)")
    }

    @Test(arguments: [
        ("no es el cargador, ya lo cambie y sigue sin cargar", TicketCategory.hardware),
        ("la impresora no imprime, dice que falta el driver", .software),
        ("pantalla rota", .hardware),
        ("olvide mi contraseña del correo", .software),
        ("windows no arranca y el disco hace clic clic", .hardware),
        ("se me cayo el cafe encima del teclado", .hardware),
        ("el excel se traba cada vez que abro un archivo grande", .software),
        ("my laptop won't turn on, no lights at all", .hardware),
        ("outlook keeps asking for my password", .software),
    ])
    func typicalAndHardCasesGetTheRightLabel(_ text: String, _ expected: TicketCategory) {
        #expect(Self.heldOutModel.classify(text).label == expected)
    }

    @Test func belowTheThresholdTheLabelIsUnknownAndEmptyTextIsUnknown() {
        var strict = Self.heldOutModel
        strict.threshold = 0.999
        let result = strict.classify("tengo un problema")
        #expect(result.label == .unknown)
        #expect(result.confidence < 0.999)
        #expect(Self.heldOutModel.classify("   ").label == .unknown)
        #expect(Self.heldOutModel.classify("🙏").confidence <= 1)
    }

    @Test func explainsItsDecisionWithTheWordsThatWeighedMost() {
        let result = Self.heldOutModel.classify("la bateria de la laptop esta inflada y no carga")
        #expect(result.label == .hardware)
        #expect(!result.topTerms.isEmpty)
        #expect(result.topTerms.allSatisfy { !$0.hasPrefix("c:") && !$0.hasPrefix("w:") })
    }

    @Test func trainingIsDeterministicAndASavedModelClassifiesTheSame() throws {
        let again = TicketClassifier.train(Self.split.training, version: "test-80")
        let text = "no me deja entrar al sistema de facturacion"
        #expect(again.classify(text) == Self.heldOutModel.classify(text))
        let artifact = Self.heldOutModel.model.artifact(version: "saved")
        let data = try JSONEncoder().encode(artifact)
        let loaded = LogisticRegression(
            artifact: try JSONDecoder().decode(LogisticRegression.Artifact.self, from: data))
        let restored = TicketClassifier(model: loaded, version: "saved")
        #expect(abs(restored.classify(text).confidence - Self.heldOutModel.classify(text).confidence) < 0.01)
        #expect(data.count < 8 << 20)
    }
}
