import ArgumentParser
import MostradorServiceKit

/// `mostrador-notifier`: turns domain events into agent and customer notifications.
@main
struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mostrador-notifier", abstract: "turns domain events into agent and customer notifications.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "notifier", defaultPort: 8082)
        Observability.bootstrap(configuration)
        let application = try await buildApplication(configuration)
        try await ServiceApplication.run(application, configuration: configuration)
    }
}
