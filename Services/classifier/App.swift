import ArgumentParser
import Foundation
import MostradorServiceKit

/// `mostrador-classifier`: labels tickets Hardware or Software (the service), and trains, evaluates and tries the
/// model from the command line.
@main
struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mostrador-classifier",
        abstract: "Labels tickets Hardware or Software.",
        subcommands: [Serve.self, Train.self, Eval.self, Classify.self, Bench.self],
        defaultSubcommand: Serve.self
    )
}

/// Runs the service: consumes `ticket.created` and `ticket.description_updated`, publishes `ticket.classified`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the classifier service (the default).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "classifier", defaultPort: 8083)
        Observability.bootstrap(configuration)
        let application = try await buildApplication(configuration)
        try await ServiceApplication.run(application, configuration: configuration)
    }
}

/// Trains a model and writes it as a file the service can load (`MOSTRADOR_CLASSIFIER_MODEL`).
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model from a JSONL corpus.")

    @Option(help: "Corpus file, one {\"text\", \"label\"} per line (default: the bundled corpus).")
    var corpus: String?
    @Option(help: "Where to write the model.") var output = "classifier-model.json"
    @Flag(help: "Train on the fixed 80% split only, leaving the 20% held out for `eval --held-out`.")
    var trainingSplit = false
    @Option(help: "Also write the split as training.jsonl and held-out.jsonl into this folder.")
    var writeSplit: String?

    func run() throws {
        let examples = try Corpus.load(corpus.map(URL.init(fileURLWithPath:)) ?? Corpus.bundledURL)
        if let folder = writeSplit {
            let split = Corpus.split(examples)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for (name, part) in [("training", split.training), ("held-out", split.heldOut)] {
                let lines = try part.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                try (lines.joined(separator: "\n") + "\n").write(
                    toFile: "\(folder)/\(name).jsonl", atomically: true, encoding: .utf8)
            }
            print("wrote \(split.training.count) training and \(split.heldOut.count) held-out examples to \(folder)")
        }
        let used = trainingSplit ? Corpus.split(examples).training : examples
        let started = ContinuousClock.now
        let classifier = TicketClassifier.train(used, version: ModelLoader.version(of: used))
        let elapsed = ContinuousClock.now - started
        let data = try JSONEncoder().encode(classifier.model.artifact(version: classifier.version))
        try data.write(to: URL(fileURLWithPath: output))
        print(
            "trained \(classifier.version) on \(used.count) examples in \(elapsed); wrote \(output) (\(data.count) bytes)"
        )
    }
}

/// Prints accuracy, per-label precision and recall and the confusion matrix on labelled examples.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate on a JSONL file of {\"text\", \"label\"}.")

    @Argument(help: "Examples to evaluate on.") var file: String?
    @Flag(help: "Evaluate on the bundled corpus's held-out 20% (with a model trained on the other 80%).")
    var heldOut = false
    @Option(help: "A model file from `train` (default: trained now on the bundled corpus's 80% split).")
    var model: String?
    @Flag(help: "List every mistake.") var mistakes = false
    @Flag(help: "Print one JSON object per example ({text, gold, predicted, argmax, confidence}) before the report.")
    var json = false

    func run() throws {
        let bundled = try Corpus.load(Corpus.bundledURL)
        let split = Corpus.split(bundled)
        let examples: [Example]
        if heldOut {
            examples = split.heldOut
        } else if let file {
            examples = try Corpus.load(URL(fileURLWithPath: file))
        } else {
            throw ValidationError("give a file of examples, or --held-out")
        }
        let classifier =
            try model.map { try ModelLoader.load(path: $0) }
            ?? TicketClassifier.train(split.training, version: ModelLoader.version(of: split.training))
        var evaluation = Evaluation()
        var argmax = Evaluation()
        var byKind: [String: Evaluation] = [:]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for example in examples {
            let result = classifier.classify(example.text)
            evaluation.add(gold: example.label, predicted: result.label.rawValue)
            var decided = classifier
            decided.threshold = 0
            let forced = decided.classify(example.text).label.rawValue
            argmax.add(gold: example.label, predicted: forced)
            if example.hard == true {
                byKind["hard (all)", default: Evaluation()].add(gold: example.label, predicted: forced)
            }
            if let kind = example.kind {
                byKind[kind, default: Evaluation()].add(gold: example.label, predicted: forced)
            }
            if let lang = example.lang {
                byKind["lang " + lang, default: Evaluation()].add(gold: example.label, predicted: forced)
            }
            if json {
                let line = EvalLine(
                    text: example.text, gold: example.label, predicted: result.label.rawValue, argmax: forced,
                    confidence: result.confidence)
                print(String(decoding: try encoder.encode(line), as: UTF8.self))
            }
            if mistakes, result.label.rawValue != example.label {
                print(
                    String(
                        format: "✗ %@ → %@ (%.2f): %@", example.label, result.label.rawValue, result.confidence,
                        example.text))
            }
        }
        let decided = evaluation.total - evaluation.unknownCount
        print("model: \(classifier.version)")
        print(String(format: "label always decided (argmax): accuracy %.2f%%", argmax.accuracy * 100))
        print(
            String(
                format:
                    "at threshold %.2f: %d of %d decided (%.1f%%), accuracy on those %.2f%%, the rest flagged unknown",
                classifier.threshold, decided, evaluation.total,
                Double(decided) / Double(max(1, evaluation.total)) * 100,
                evaluation.decidedAccuracy * 100))
        print("")
        print(evaluation.report)
        if !byKind.isEmpty {
            print("")
            print("argmax accuracy by subset")
            for (name, subset) in byKind.sorted(by: { $0.key < $1.key }) {
                print(
                    name.padding(toLength: 14, withPad: " ", startingAt: 0)
                        + String(format: "%6.2f%%  (%d)", subset.accuracy * 100, subset.total))
            }
        }
    }

    struct EvalLine: Encodable {
        let text: String
        let gold: String
        let predicted: String
        let argmax: String
        let confidence: Double
    }
}

/// Classifies one text and prints the label and confidence.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Classify one text.")

    @Argument(help: "The description to classify.") var text: String
    @Option(help: "A model file from `train` (default: trained now on the bundled corpus).") var model: String?

    func run() throws {
        let classifier = try ModelLoader.load(path: model)
        let result = classifier.classify(text)
        print(String(format: "%@ %.3f", result.label.rawValue, result.confidence))
        if !result.topTerms.isEmpty { print("términos: " + result.topTerms.joined(separator: ", ")) }
    }
}

/// Measures model load (training) time and classifications per second on one core.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure load time and classifications per second.")

    @Option(help: "Classifications to time.") var count = 200_000

    func run() throws {
        let loadStart = ContinuousClock.now
        let classifier = try ModelLoader.load(path: nil)
        let load = ContinuousClock.now - loadStart
        let texts = try Corpus.load(Corpus.bundledURL).map(\.text)
        let artifact = try JSONEncoder().encode(classifier.model.artifact(version: classifier.version))
        let fileStart = ContinuousClock.now
        _ = LogisticRegression(artifact: try JSONDecoder().decode(LogisticRegression.Artifact.self, from: artifact))
        let fileLoad = ContinuousClock.now - fileStart
        var checksum = 0.0
        let start = ContinuousClock.now
        for index in 0..<count {
            checksum += classifier.classify(texts[index % texts.count]).confidence
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("model \(classifier.version)")
        print("train at start (\(texts.count) examples): \(load)")
        print("load from a saved file (\(artifact.count) bytes): \(fileLoad)")
        print(
            String(
                format:
                    "%d classifications in %.2f s on one core: %.0f per second (average text %d characters; checksum %.1f)",
                count, seconds, Double(count) / seconds, texts.map(\.count).reduce(0, +) / texts.count, checksum))
    }
}
