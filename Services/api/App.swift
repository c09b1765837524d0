import ArgumentParser
import MostradorServiceKit

/// `mostrador-api`: HTTP and WebSocket API, panel, intake bot and the database (without a subcommand); and
/// `mostrador-api dead-letters …` to inspect and re-drive the dead-letter queue.
@main
struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mostrador-api", abstract: "HTTP and WebSocket API, panel, intake bot and the database.",
        subcommands: [DeadLettersCommand.self])

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "api", defaultPort: 8080)
        Observability.bootstrap(configuration)
        let application = try await buildApplication(configuration)
        try await ServiceApplication.run(application, configuration: configuration)
    }
}
