import Foundation
import GRDB
import Hummingbird
import HummingbirdWebSocket
import Logging
import MostradorMessaging
import MostradorServiceKit
import MostradorStorage
import ServiceLifecycle

/// The api's parts, built once from configuration and shared by the router and the workers.
struct APIComponents {
    let settings: APISettings
    let pool: DatabasePool
    let committer: GroupCommitter
    let outboxWakeup: Wakeup
    let tickets: TicketStore
    let agents: AgentStore
    let attachments: AttachmentStore
    let notifier: DeliveryNotifier
    let templates: Templates
    let chats: ChatStore
    let notifications: NotificationStore
    let live = LiveSignal()
    let uploads = UploadGrants()

    init(settings: APISettings, dataDirectory: String, logger: Logger) throws {
        self.settings = settings
        pool = try APIDatabase.open(dataDirectory: dataDirectory, durability: settings.durability)
        committer = GroupCommitter(writer: pool, logger: logger)
        outboxWakeup = Wakeup()
        var tickets = TicketStore(committer: committer, outboxWakeup: outboxWakeup)
        tickets.intake = settings.intake
        tickets.live = live
        self.tickets = tickets
        agents = AgentStore(committer: committer, sessionLifetime: settings.sessionLifetime)
        attachments = AttachmentStore(root: "\(dataDirectory)/attachments", reader: pool)
        notifier = DeliveryNotifier()
        templates = try Templates.load(path: settings.templatesFile)
        var chats = ChatStore(committer: committer, outboxWakeup: outboxWakeup)
        chats.live = live
        self.chats = chats
        notifications = NotificationStore(committer: committer)
    }
}

/// Every HTTP route of the api.
func buildRouter(_ components: APIComponents) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    router.add(middleware: JSONErrorMiddleware())
    // The panel at `/`, the guest chat at `/chat` (chat/index.html).
    let publicDirectory =
        components.settings.publicDirectory ?? Bundle.module.url(forResource: "Public", withExtension: nil)!.path
    router.add(middleware: FileMiddleware(publicDirectory, searchForIndexHtml: true))
    WebhookController(
        tickets: components.tickets, attachments: components.attachments, token: components.settings.webhookToken
    ).addRoutes(to: router)
    AuthController(agents: components.agents).addRoutes(to: router)
    DocsController().addRoutes(to: router)
    router.add(middleware: CallerMiddleware(agents: components.agents, reader: components.pool))
    let chatRooms = ChatRoomsController(chats: components.chats, tickets: components.tickets, agents: components.agents)
    chatRooms.addSharedRoutes(to: router)
    let settings = components.settings
    GuestChatController(
        chats: components.chats, notifications: components.notifications, settings: settings,
        recaptcha: settings.recaptchaSecret.map {
            RecaptchaVerifier(
                secret: $0, url: settings.recaptchaVerifyURL, minimumScore: settings.recaptchaMinimumScore)
        }
    ).addRoutes(to: router)
    ChatSyncController(
        chats: components.chats, tickets: components.tickets, attachments: components.attachments,
        uploads: components.uploads, live: components.live
    ).addRoutes(to: router)
    let panel = router.group().add(middleware: AgentOnlyMiddleware())
    DashboardController(reader: components.pool).addRoutes(to: panel)
    chatRooms.addAgentRoutes(to: panel)
    NotificationsController(notifications: components.notifications).addRoutes(to: panel)
    AgentsController(agents: components.agents).addRoutes(to: panel)
    TicketController(
        tickets: components.tickets, chats: components.chats, notifier: components.notifier,
        templates: components.templates,
        sendWait: components.settings.sendWait
    ).addRoutes(to: panel)
    EvidenceController(attachments: components.attachments, tickets: components.tickets).addRoutes(to: panel)
    return router
}

/// Wires the api: broker connection → database writer → outbox publisher → results consumer → HTTP.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let logger = configuration.logger
    let components = try APIComponents(
        settings: try APISettings(configuration), dataDirectory: configuration.dataDirectory, logger: logger)
    if components.settings.webhookToken == nil {
        logger.warning("MOSTRADOR_WEBHOOK_TOKEN is not set: every POST /webhook will be refused with 401")
    }
    if let user = components.settings.adminUser, let password = components.settings.adminPassword,
        try await components.agents.bootstrapAdmin(username: user, password: password)
    {
        logger.notice("created the first admin", metadata: ["username": "\(user)"])
    }
    let instance = UUID().uuidString.prefix(8).lowercased()
    let connection = ServiceApplication.connection(configuration, extra: LiveFeed.topology(instance: instance))
    let hub = LiveHub(chats: components.chats, logger: logger)
    let feed = LiveFeed(connection: connection, instance: instance, hub: hub, logger: logger)
    components.live.attach(feed)
    let webSockets = Router(context: LiveRequestContext.self)
    webSockets.add(
        middleware: LiveAuthMiddleware(
            identify: CallerMiddleware(agents: components.agents, reader: components.pool), chats: components.chats))
    LiveController(
        chats: components.chats, tickets: components.tickets, hub: hub, feed: feed, uploads: components.uploads
    )
    .addRoutes(to: webSockets)
    let workers: [any Service] = [
        components.committer,
        OutboxPublisher(
            committer: components.committer, connection: connection, wakeup: components.outboxWakeup, logger: logger),
        MessageConsumer(
            connection: connection, queue: MostradorTopology.apiResults.name, prefetch: 500, lanes: 32,
            router: ResultsConsumer.router(
                tickets: components.tickets, notifier: components.notifier, notifications: components.notifications,
                live: components.live),
            logger: logger),
        feed,
    ]
    let pool = components.pool
    return ServiceApplication.make(
        configuration: configuration, connection: connection, workers: workers, router: buildRouter(components),
        checks: [
            ReadinessCheck("database") {
                do {
                    _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
                    return nil
                } catch {
                    return "\(error)"
                }
            }
        ],
        server: .http1WebSocketUpgrade(webSocketRouter: webSockets))
}
