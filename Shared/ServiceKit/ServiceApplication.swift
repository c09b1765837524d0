import AMQPClient
import Hummingbird
import HummingbirdCore
import Logging
import MostradorMessaging
import NIOCore
import ServiceLifecycle

/// The shape every Mostrador executable shares: broker connections (declaring the whole topology), the service's
/// own workers, and an HTTP server with the operational routes. Services are listed in dependency order, so a
/// graceful shutdown stops HTTP first, then the workers (which finish what they hold), then the connections (which
/// wait for outstanding confirms). Whatever that order, publishes still unconfirmed `drainTimeout` after shutdown
/// began fail with `.shutdown` (see ``DrainDeadline``), so a worker waiting on an unreachable broker cannot hold
/// the process; their outbox rows and unacknowledged deliveries stay for the next start.
public enum ServiceApplication {
    /// The broker connections for `configuration`, one per role (the whole topology, plus anything this service
    /// adds, declared on both).
    public static func connections(
        _ configuration: ServiceConfiguration, extra: AMQPTopology = AMQPTopology(), auxiliary: [AMQPConnection] = []
    ) -> BrokerConnections {
        let topology = MostradorTopology.topology.merging(extra)
        return BrokerConnections(
            publisher: connection(configuration, role: "publish", topology: topology),
            consumer: connection(configuration, role: "consume", topology: topology), auxiliary: auxiliary)
    }

    /// A connection of its own for one `role`, shown to the broker as `mostrador-<service>-<role>`.
    public static func connection(_ configuration: ServiceConfiguration, role: String, topology: AMQPTopology)
        -> AMQPConnection
    {
        var amqp = configuration.amqp
        amqp.connectionName += "-\(role)"
        return AMQPConnection(configuration: amqp, topology: topology, logger: configuration.logger)
    }

    /// Runs `application` until SIGTERM or SIGINT. Graceful shutdown gets `shutdownTimeout` (drain timeout plus a
    /// margin); after that the remaining services are cancelled, so a stuck one cannot keep the process alive.
    public static func run(_ application: some ApplicationProtocol, configuration: ServiceConfiguration)
        async throws
    {
        var group = ServiceGroupConfiguration(
            services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: configuration.logger)
        group.maximumGracefulShutdownDuration = shutdownTimeout(configuration)
        try await ServiceGroup(configuration: group).run()
    }

    /// The backstop of a graceful shutdown: the drain deadline, then as long again for the rest.
    static func shutdownTimeout(_ configuration: ServiceConfiguration) -> Duration {
        configuration.amqp.drainTimeout * 2 + .seconds(5)
    }

    /// A Hummingbird application running `workers` after `connections`, serving `router` on the public port with
    /// `configuration.limits`. `server` defaults to HTTP/1.1 with those limits (see `HTTPServerBuilder.guarded`).
    /// The operational routes go on the operations port when `MOSTRADOR_OPS_PORT` is set (a second server, started
    /// first and stopped last); the public port gets only their bare form (see ``OperationalAudience``).
    public static func make<Context: RequestContext>(
        configuration: ServiceConfiguration,
        connections: BrokerConnections,
        workers: [any Service],
        router: Router<Context>,
        checks: [ReadinessCheck] = [],
        server: HTTPServerBuilder? = nil,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
        let checks = [.broker(connections.required)] + checks
        router.addOperationalRoutes(
            checks: checks, registry: Observability.registry,
            audience: .everyone(metricsToken: configuration.metricsToken))
        // The deadline goes last: the first to hear of a shutdown, it starts every connection's drain clock.
        var services: [any Service] = connections.all + workers + [DrainDeadline(connections: connections.all)]
        // Before the connections, so stopped after them: its last export holds the spans of the drain.
        if let exporter = OTLPTraceExporter.fromEnvironment(
            service: configuration.service, logger: configuration.logger)
        {
            services.insert(exporter, at: 0)
        }
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

/// A service's broker connections. A broker alarm blocks every connection that publishes; consumers (and their acks
/// and heartbeats) are on a connection of their own so that they keep going meanwhile.
public struct BrokerConnections: Sendable {
    /// For `publish`: outbox publishers, consumers' handlers.
    public let publisher: AMQPConnection
    /// For `consume`.
    public let consumer: AMQPConnection
    /// Connections of parts that must not share the others' fate (the api's live feed); run and drained with the
    /// others, not part of readiness.
    public var auxiliary: [AMQPConnection] = []

    public init(publisher: AMQPConnection, consumer: AMQPConnection, auxiliary: [AMQPConnection] = []) {
        self.publisher = publisher
        self.consumer = consumer
        self.auxiliary = auxiliary
    }

    /// What readiness requires.
    var required: [AMQPConnection] { [publisher, consumer] }

    var all: [AMQPConnection] { required + auxiliary }
}

/// Listed last among an application's services, so the first to be told of a graceful shutdown: it starts the
/// connections' drain deadline (publishes unconfirmed `drainTimeout` later fail with `.shutdown`) while the
/// services before it are still stopping, and returns at once.
struct DrainDeadline: Service {
    let connections: [AMQPConnection]

    func run() async throws {
        try? await gracefulShutdown()
        for connection in connections { connection.beginDraining() }
    }
}
