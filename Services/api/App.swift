import ArgumentParser
import MostradorServiceKit

/// `mostrador-api`: HTTP and WebSocket API, panel, intake bot and the database.
@main
struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mostrador-api", abstract: "HTTP and WebSocket API, panel, intake bot and the database.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "api", defaultPort: 8080)
        Observability.bootstrap(configuration)
        let application = try await buildApplication(configuration)
        try await application.runService()
    }
}
