import ArgumentParser
import MostradorServiceKit

/// `mostrador-classifier`: labels tickets Hardware or Software.
@main
struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mostrador-classifier", abstract: "labels tickets Hardware or Software.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "classifier", defaultPort: 8083)
        Observability.bootstrap(configuration)
        let application = try await buildApplication(configuration)
        try await application.runService()
    }
}
