import ArgumentParser
import MostradorServiceKit

/// `mostrador-bridge-relay`: delivers outbound WhatsApp messages through the bridge, with retries and parking.
@main
struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mostrador-bridge-relay",
        abstract: "delivers outbound WhatsApp messages through the bridge, with retries and parking.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.resolve(service: "bridge-relay", defaultPort: 8081)
        Observability.bootstrap(configuration)
        let application = try await buildApplication(configuration)
        try await ServiceApplication.run(application, configuration: configuration)
    }
}
