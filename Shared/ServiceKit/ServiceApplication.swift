import AMQPClient
import Hummingbird
import HummingbirdCore
import Logging
import MostradorMessaging
import NIOCore
import ServiceLifecycle

/// The shape every Mostrador executable shares: a broker connection (declaring the whole topology), the service's
/// own workers, and an HTTP server with the operational routes. Services are listed in dependency order, so a
/// graceful shutdown stops HTTP first, then the workers (which finish what they hold), then the connection (which
/// waits for outstanding confirms).
public enum ServiceApplication {
    /// The broker connection for `configuration` (the whole topology, plus anything this service adds).
    public static func connection(_ configuration: ServiceConfiguration, extra: AMQPTopology = AMQPTopology())
        -> AMQPConnection
    {
        AMQPConnection(
            configuration: configuration.amqp, topology: MostradorTopology.topology.merging(extra),
            logger: configuration.logger
        )
    }

    /// A Hummingbird application running `workers` after `connection`, serving `router`.
    public static func make<Context: RequestContext>(
        configuration: ServiceConfiguration,
        connection: AMQPConnection,
        workers: [any Service],
        router: Router<Context>,
        checks: [ReadinessCheck] = [],
        server: HTTPServerBuilder = .http1(),
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
        router.addOperationalRoutes(checks: [.broker(connection)] + checks, registry: Observability.registry)
        return Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort),
                serverName: "mostrador-\(configuration.service)"
            ),
            services: [connection] + workers,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.httpPort) },
            logger: configuration.logger
        )
    }
}
