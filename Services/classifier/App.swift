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
        subcommands: [Serve.self, Train.self, Eval.self, Classify.self],
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
        try await application.runService()
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

    func run() throws {
        let examples = try Corpus.load(corpus.map(URL.init(fileURLWithPath:)) ?? Corpus.bundledURL)
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
        for example in examples {
            let result = classifier.classify(example.text)
            evaluation.add(gold: example.label, predicted: result.label.rawValue)
            if mistakes, result.label.rawValue != example.label {
                print(
                    String(
                        format: "✗ %@ → %@ (%.2f): %@", example.label, result.label.rawValue, result.confidence,
                        example.text))
            }
        }
        print("model: \(classifier.version)")
        print(evaluation.report)
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
