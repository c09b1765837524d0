import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import MostradorMessaging
import MostradorSQL
import MostradorServiceKit
import MostradorStorage
import NIOPosix
import ServiceLifecycle

/// The api's parts, built once from configuration and shared by the router and the workers.
struct APIComponents {
    let settings: APISettings
    let pool: SQLDatabase
    let committer: SQLCommitter
    let outboxWakeup: Wakeup
    let agents: AgentStore
    /// Who did what (`GET /api/audit`).
    let audit: AuditStore
    let attachments: AttachmentStore
    let templates: Templates
    let notifications: NotificationStore
    let guestSessions: GuestSessions
    let readModels: ReadModels
    let conversations: Conversations
    let uploads: UploadGrants
    /// bcrypt on its own bounded pool (a service: stopped with the application).
    let passwords: PasswordHasher
    let loginThrottle: LoginThrottle
    /// Admins' outbound webhooks; `webhookBindings` keeps the broker's `api.webhooks` bound to what they want (no
    /// broker here until `buildApplication` gives it one).
    let webhooks: Webhooks
    var webhookBindings: WebhookBindings

    /// `live` hears about every change (the broker's fan-out in production, a recorder in tests).
    /// `passwords` lets many apis in one process (tests) share bcrypt threads; by default the api has its own.
    init(
        settings: APISettings, pool: SQLDatabase, dataDirectory: String, live: any LivePublisher, logger: Logger,
        clock: WallClock = .system, passwords: PasswordHasher? = nil, sessions: SessionCache? = nil
    ) async throws {
        self.settings = settings
        self.pool = pool
        committer = SQLCommitter(writer: pool, logger: logger)
        outboxWakeup = Wakeup()
        self.passwords =
            passwords ?? PasswordHasher(threads: settings.bcryptThreads, queueLimit: settings.bcryptQueueLimit)
        loginThrottle = LoginThrottle(
            failuresPerUser: settings.loginFailuresPerUser, failuresPerClient: settings.loginFailuresPerClient,
            window: settings.loginWindow, clock: clock)
        agents = AgentStore(
            committer: committer, sessionLifetime: settings.sessionLifetime, clock: clock, passwords: self.passwords,
            sessions: sessions ?? SessionCache(lifetime: settings.sessionCacheLifetime))
        uploads = UploadGrants(clock: clock, limits: UploadGrants.Limits(settings))
        attachments = AttachmentStore(
            root: "\(dataDirectory)/attachments", reader: pool,
            disk: FreeDiskGuard(
                paths: [dataDirectory, "\(dataDirectory)/attachments"], minimumFreeBytes: settings.minimumFreeDiskBytes,
                probe: settings.freeDiskProbe, clock: clock))
        let file = try Templates.load(path: settings.templatesFile)
        templates = file
        try await pool.write { db in try MessageTemplates.seedMessages(from: file, db: db) }
        notifications = NotificationStore(committer: committer)
        audit = AuditStore(committer: committer)
        webhooks = Webhooks(committer: committer)
        webhookBindings = WebhookBindings(
            apply: nil, webhooks: webhooks, logger: Logger(label: "mostrador.api.webhooks"))
        guestSessions = GuestSessions(reader: pool)
        readModels = ReadModels(reader: pool)
        var conversations = Conversations(
            committer: committer, live: live, deliveries: DeliveryOutcomeWaiter(), sendWait: settings.sendWait,
            outboxWakeup: outboxWakeup, clock: clock, rates: MessageRateLimits(settings, clock: clock))
        conversations.intakeLLM = settings.llmURL.map { url in
            IntakeLLM(
                chat: ChatCompletions(
                    url: url, model: settings.llmModel, apiKey: settings.llmAPIKey, timeout: settings.llmTimeout),
                logger: Logger(label: "mostrador.api.intake-llm"))
        }
        self.conversations = conversations
    }

    var callers: CallerMiddleware { CallerMiddleware(agents: agents, tickets: conversations.tickets) }
}

/// Every HTTP route of the api.
func buildRouter(_ components: APIComponents) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    // Outermost: every request, its log lines and the messages it leads to share one trace.
    router.add(middleware: TraceMiddleware())
    // Then, so that pages, static files, errors and 404s all carry the browser security headers.
    router.add(middleware: SecurityHeadersMiddleware(settings: components.settings))
    if !components.settings.corsOrigins.isEmpty {
        router.add(middleware: CrossOriginMiddleware(allowedOrigins: components.settings.corsOrigins))
    }
    router.add(middleware: JSONErrorMiddleware())
    router.add(middleware: ClientAddressMiddleware(proxies: components.settings.trustedProxies))
    // The panel at `/`, the guest chat at `/chat` (chat/index.html).
    let publicDirectory =
        components.settings.publicDirectory ?? Bundle.module.url(forResource: "Public", withExtension: nil)!.path
    router.add(middleware: FileMiddleware(publicDirectory, searchForIndexHtml: true))
    let settings = components.settings
    let conversations = components.conversations
    WebhookController(
        conversations: conversations, attachments: components.attachments, token: settings.webhookToken,
        intake: settings.intake,
        signature: settings.webhookHMACKey.map { WebhookSignature(key: $0, maximumSkew: settings.webhookMaximumSkew) },
        newTicketsPerSenderHour: settings.webhookNewTicketsPerSenderHour, clock: conversations.clock
    ).addRoutes(to: router)
    let receiver = ChannelReceiver(
        conversations: conversations, attachments: components.attachments, intake: settings.intake,
        newTicketsPerSenderHour: settings.webhookNewTicketsPerSenderHour)
    CloudWebhookController(
        receiver: receiver, media: settings.gateways.cloud.map { CloudMedia(baseURL: $0.apiURL, token: $0.token) },
        verifyToken: settings.cloudVerifyToken, appSecret: settings.cloudAppSecret
    ).addRoutes(to: router)
    WAHAWebhookController(
        receiver: receiver, hmacKey: settings.wahaHMACKey,
        gateway: settings.gateways.waha.map { GatewayClient(gateway: $0, keyHeader: "X-Api-Key") }
    ).addRoutes(to: router)
    EvolutionWebhookController(
        receiver: receiver, token: settings.evolutionWebhookToken, jwtKey: settings.evolutionJWTKey,
        gateway: settings.gateways.evolution.map { GatewayClient(gateway: $0, keyHeader: "apikey") },
        clock: conversations.clock
    ).addRoutes(to: router)
    AuthController(
        agents: components.agents, throttle: components.loginThrottle, live: conversations.live,
        audit: components.audit
    )
    .addRoutes(to: router)
    let twoFactor = TwoFactorController(agents: components.agents, live: conversations.live)
    twoFactor.addPublicRoutes(to: router)
    DocsController().addRoutes(to: router)
    router.add(middleware: components.callers)
    WebSocketTicketController(tickets: WebSocketTickets(conversations), conversations: conversations)
        .addRoutes(to: router)
    let chatRooms = ChatRoomsController(conversations: conversations, agents: components.agents)
    chatRooms.addSharedRoutes(to: router)
    GuestChatController(
        conversations: conversations, sessions: components.guestSessions, notifications: components.notifications,
        agents: components.agents, settings: settings,
        recaptcha: settings.recaptchaSecret.map {
            RecaptchaVerifier(
                secret: $0, url: settings.recaptchaVerifyURL, minimumScore: settings.recaptchaMinimumScore)
        }
    ).addRoutes(to: router)
    ChatSyncController(
        conversations: conversations, readModels: components.readModels, attachments: components.attachments,
        uploads: components.uploads
    ).addRoutes(to: router)
    EvidenceController(attachments: components.attachments, conversations: conversations).addRoutes(to: router)
    let satisfaction = SatisfactionController(conversations: conversations)
    satisfaction.addGuestRoutes(to: router)
    let panel = router.group().add(middleware: AgentOnlyMiddleware())
    chatRooms.addAgentRoutes(to: panel)
    NotificationsController(notifications: components.notifications).addRoutes(to: panel)
    AgentsController(
        agents: components.agents, live: conversations.live, audit: components.audit, conversations: conversations
    ).addRoutes(to: panel)
    SettingsController(conversations: conversations).addRoutes(to: panel)
    twoFactor.addAdminRoutes(to: panel)
    satisfaction.addAdminRoutes(to: panel)
    SLAController(
        policies: SLAPolicies(committer: components.committer), conversations: conversations, audit: components.audit
    ).addRoutes(to: panel)
    let templates = MessageTemplates(reader: components.pool, committer: components.committer)
    TemplatesController(templates: templates, audit: components.audit).addRoutes(to: panel)
    CustomersController(reader: components.pool).addRoutes(to: panel)
    ParticipantsController(conversations: conversations, agents: components.agents).addRoutes(to: panel)
    NotesController(conversations: conversations).addRoutes(to: panel)
    AuditController(audit: components.audit).addRoutes(to: panel)
    ExportsController(
        exports: Exports(reader: components.pool), audit: components.audit, pageSize: settings.exportPageSize
    ).addRoutes(to: panel)
    WebhooksController(
        webhooks: components.webhooks, bindings: components.webhookBindings,
        address: WebhookAddress(allowPrivate: settings.outboundWebhooksAllowPrivate), audit: components.audit
    ).addRoutes(to: panel)
    LabelsController(
        labels: Labels(committer: components.committer), conversations: conversations, audit: components.audit
    )
    .addRoutes(to: panel)
    TicketController(
        conversations: conversations, readModels: components.readModels, templates: templates
    ).addRoutes(to: panel)
    return router
}

/// The WebSocket routes: `/ws/soporte/ticket/{id}/`, authorised through the same access policy.
func buildWebSocketRouter(_ components: APIComponents, hub: LiveHub) -> Router<LiveRequestContext> {
    let webSockets = Router(context: LiveRequestContext.self)
    let conversations = components.conversations
    let limits = LiveHub.Limits(
        perCredential: components.settings.webSocketsPerToken, perAddress: components.settings.webSocketsPerAddress)
    webSockets.add(
        middleware: LiveAuthMiddleware(
            conversations: conversations, hub: hub, limits: limits, proxies: components.settings.trustedProxies))
    LiveController(
        conversations: conversations, hub: hub, uploads: components.uploads, limits: limits,
        frameCapacity: components.settings.webSocketFrameBuffer
    )
    .addRoutes(to: webSockets)
    return webSockets
}

/// Wires the api: broker connection → database writer → outbox publisher → results consumer → HTTP.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let logger = configuration.logger
    let settings = try APISettings(configuration)
    let pool = try await APIDatabase.open(
        dataDirectory: configuration.dataDirectory, url: settings.databaseURL, durability: settings.durability,
        logger: logger)
    let unknown = try await APIDatabase.unknownMigrations(pool)
    if !unknown.isEmpty {
        logger.warning(
            "the database was migrated by a newer version: this one does not know its latest changes",
            metadata: ["migrations": "\(unknown.sorted())"])
    }
    let instance = UUID().uuidString.prefix(8).lowercased()
    let live = ServiceApplication.connection(
        configuration, role: "live", topology: LiveFeed.topology(instance: instance))
    let connections = ServiceApplication.connections(configuration, auxiliary: [live])
    let hub = LiveHub(messages: Messages(reader: pool), logger: logger)
    let sessions = SessionCache(lifetime: settings.sessionCacheLifetime)
    let feed = LiveFeed(connection: live, instance: instance, hub: hub, sessions: sessions, logger: logger)
    var components = try await APIComponents(
        settings: settings, pool: pool, dataDirectory: configuration.dataDirectory, live: feed, logger: logger,
        sessions: sessions)
    components.webhookBindings = WebhookBindings(
        apply: WebhookBindings.broker(connections.publisher), webhooks: components.webhooks, logger: logger)
    var webhookClientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
    webhookClientConfiguration.timeout = .init(connect: .seconds(5))
    let webhookClient = HTTPClient(
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: webhookClientConfiguration)
    let outboundWebhooks = OutboundWebhooks(
        webhooks: components.webhooks, client: webhookClient,
        address: WebhookAddress(allowPrivate: settings.outboundWebhooksAllowPrivate),
        attempts: settings.outboundWebhookAttempts, timeout: settings.outboundWebhookTimeout, logger: logger)
    let abandoned = components.attachments.removeAbandonedTemporaryFiles()
    if abandoned > 0 {
        logger.notice("removed temporary attachment files a crash left behind", metadata: ["count": "\(abandoned)"])
    }
    if components.settings.webhookToken == nil {
        logger.warning("MOSTRADOR_WEBHOOK_TOKEN is not set: every POST /webhook will be refused with 401")
    }
    if let user = components.settings.adminUser, let password = components.settings.adminPassword,
        try await components.agents.bootstrapAdmin(username: user, password: password)
    {
        logger.notice("created the first admin", metadata: ["username": "\(user)"])
    }
    let deadLetters = DeadLetterWatch(
        connection: connections.consumer, interval: try configuration.deadLetterCheckInterval(), logger: logger)
    let workers: [any Service] = [
        components.passwords,
        components.committer,
        OutboxPublisher(
            committer: components.committer, connection: connections.publisher, wakeup: components.outboxWakeup,
            logger: logger),
        MessageConsumer(
            connection: connections.consumer, publisher: connections.publisher,
            queue: MostradorTopology.apiResults.name, prefetch: 500, lanes: 32,
            router: ResultsConsumer.router(
                conversations: components.conversations, notifications: components.notifications),
            retryPolicy: try configuration.handlerRetryPolicy(), logger: logger),
        MessageConsumer(
            connection: connections.consumer, publisher: connections.publisher,
            queue: MostradorTopology.apiWebhooks.name, prefetch: 64, lanes: 8, router: outboundWebhooks.router(),
            retryPolicy: try configuration.handlerRetryPolicy(), logger: logger),
        HTTPClientService(client: webhookClient),
        WebhookBindingsKeeper(bindings: components.webhookBindings),
        SLAWatcher(
            policies: SLAPolicies(committer: components.committer), live: components.conversations.live,
            clock: .system, interval: settings.slaCheckInterval, logger: logger),
        feed,
        deadLetters,
        SessionJanitor(
            hub: hub, purge: SessionPurge(committer: components.committer, settings: settings), clock: .system,
            sweepInterval: settings.sessionSweepInterval, purgeInterval: settings.sessionPurgeInterval,
            logger: logger),
        RetentionWorker(
            retention: Retention(
                committer: components.committer, attachmentsRoot: components.attachments.root,
                days: settings.retentionDays),
            clock: .system, logger: logger),
    ]
    return ServiceApplication.make(
        configuration: configuration, connections: connections, workers: workers, router: buildRouter(components),
        checks: [
            ReadinessCheck("database") {
                do {
                    _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
                    return nil
                } catch {
                    return "\(error)"
                }
            },
            deadLetters.readinessCheck,
        ],
        server: webSocketServer(buildWebSocketRouter(components, hub: hub), limits: configuration.limits))
}

/// HTTP/1.1 with WebSocket upgrades on `webSockets`, under the service's connection limits.
func webSocketServer(_ webSockets: Router<LiveRequestContext>, limits: ConnectionLimits) -> HTTPServerBuilder {
    let webSocketResponder = webSockets.buildResponder()
    return .guarded(limits) { responder, http1 in
        HTTP1WebSocketUpgradeChannel(
            responder: responder, webSocketResponder: webSocketResponder, configuration: .init(http1: http1))
    }
}
