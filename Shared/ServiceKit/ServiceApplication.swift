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

    /// A Hummingbird application running `workers` after `connection`, serving `router` on the public port with
    /// `configuration.limits`. `server` defaults to HTTP/1.1 with those limits (see `HTTPServerBuilder.guarded`).
    /// The operational routes go on the operations port when `MOSTRADOR_OPS_PORT` is set (a second server, started
    /// first and stopped last); the public port gets only their bare form (see ``OperationalAudience``).
    public static func make<Context: RequestContext>(
        configuration: ServiceConfiguration,
        connection: AMQPConnection,
        workers: [any Service],
        router: Router<Context>,
        checks: [ReadinessCheck] = [],
        server: HTTPServerBuilder? = nil,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
        let checks = [.broker(connection)] + checks
        router.addOperationalRoutes(
            checks: checks, registry: Observability.registry,
            audience: .everyone(metricsToken: configuration.metricsToken))
        var services: [any Service] = [connection] + workers
        if let operations = configuration.operations {
            services.insert(operationsServer(operations, checks: checks, configuration: configuration), at: 0)
        }
        return Application(
            router: router,
            server: server ?? .http1(limits: configuration.limits),
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort),
                serverName: "mostrador-\(configuration.service)",
                availableConnectionsDelegate: configuration.limits.availableConnections
            ),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.httpPort) },
            logger: configuration.logger
        )
    }

    /// The operations port: `/health/live`, `/health/ready` with the reason of each failing check, `/metrics`.
    static func operationsServer(
        _ listener: OperationsListener, checks: [ReadinessCheck], configuration: ServiceConfiguration
    ) -> some Service {
        let router = Router()
        router.addOperationalRoutes(checks: checks, registry: Observability.registry, audience: .operators)
        return Application(
            router: router,
            server: .http1(limits: configuration.limits),
            configuration: .init(
                address: .hostname(listener.host, port: listener.port),
                serverName: "mostrador-\(configuration.service)-ops"
            ),
            onServerRunning: { channel in
                configuration.logger.notice(
                    "operations port listening",
                    metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: configuration.logger
        )
    }
}
