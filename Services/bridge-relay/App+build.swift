import AsyncHTTPClient
import Hummingbird
import Logging
import MostradorContracts
import MostradorMessaging
import MostradorServiceKit
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Wires the relay: broker connection → ledger writer → HTTP client → bridge monitor → `relay.send` consumer → HTTP.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let settings = try RelaySettings(configuration)
    let logger = configuration.logger
    let connections = ServiceApplication.connections(configuration)
    let ledger = try DeliveryLedger.open(
        dataDirectory: configuration.dataDirectory, durability: settings.durability, logger: logger)
    var clientConfiguration = HTTPClient.Configuration()
    clientConfiguration.connectionPool = .init(
        idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.lanes)
    clientConfiguration.timeout = .init(connect: .seconds(2))
    let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: clientConfiguration)
    var adapters: [WhatsAppChannel: any ChannelAdapter] = [
        .seedBridge: SeedBridgeAdapter(
            client: client, baseURL: settings.bridgeURL, token: settings.bridgeToken, timeout: settings.timeout)
    ]
    if let cloud = settings.gateways.cloud, let phoneNumberID = cloud.phoneNumberID {
        adapters[.cloudAPI] = CloudAPIAdapter(
            client: client, baseURL: cloud.apiURL, phoneNumberID: phoneNumberID, token: cloud.token,
            timeout: settings.timeout)
    }
    if let waha = settings.gateways.waha {
        adapters[.waha] = WAHAAdapter(client: client, gateway: waha, timeout: settings.timeout)
    }
    if let evolution = settings.gateways.evolution {
        adapters[.evolution] = EvolutionAdapter(client: client, gateway: evolution, timeout: settings.timeout)
    }
    logger.notice(
        "WhatsApp channels", metadata: ["channels": "\(adapters.keys.map(\.rawValue).sorted().joined(separator: ", "))"]
    )
    let relay = Relay(
        adapters: adapters, ledger: ledger, reports: connections.publisher, settings: settings, logger: logger)
    // Relays started on one data folder share its ledger: one sends, the others stand by (see `ActiveRelay`).
    let sending: [any Service] = [
        BridgeMonitor(relay: relay, logger: logger),
        MessageConsumer(
            connection: connections.consumer, publisher: connections.publisher,
            queue: MostradorTopology.relaySend.name,
            prefetch: UInt16(min(1000, settings.lanes * 4)), lanes: settings.lanes, router: relay.router,
            retryPolicy: try configuration.handlerRetryPolicy(), logger: logger),
        LedgerRetentionWorker(ledger: ledger, days: settings.retentionDays, logger: logger),
    ]
    let workers: [any Service] = [
        ledger.committer,
        HTTPClientService(client: client),
        ActiveRelay(dataDirectory: configuration.dataDirectory, services: sending, logger: logger),
    ]
    let router = Router()
    return ServiceApplication.make(
        configuration: configuration, connections: connections, workers: workers, router: router)
}
