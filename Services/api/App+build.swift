import Foundation
import GRDB
import Hummingbird
import Logging
import MostradorMessaging
import MostradorServiceKit
import MostradorStorage
import ServiceLifecycle

/// Wires the api: broker connection → database writer → outbox publisher → results consumer → HTTP.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let settings = try APISettings(configuration)
    let logger = configuration.logger
    let connection = ServiceApplication.connection(configuration)
    let pool = try APIDatabase.open(dataDirectory: configuration.dataDirectory)
    let committer = GroupCommitter(writer: pool, logger: logger)
    let outboxWakeup = Wakeup()
    var tickets = TicketStore(committer: committer, outboxWakeup: outboxWakeup)
    tickets.intake = settings.intake
    let attachments = AttachmentStore(root: "\(configuration.dataDirectory)/attachments", reader: pool)
    let agents = AgentStore(committer: committer, sessionLifetime: settings.sessionLifetime)
    let notifier = DeliveryNotifier()
    let templates = try Templates.load(path: settings.templatesFile)

    if settings.webhookToken == nil {
        logger.warning("MOSTRADOR_WEBHOOK_TOKEN is not set: every POST /webhook will be refused with 401")
    }

    let router = Router(context: APIRequestContext.self)
    router.add(middleware: JSONErrorMiddleware())
    WebhookController(tickets: tickets, attachments: attachments, token: settings.webhookToken).addRoutes(to: router)
    AuthController(agents: agents).addRoutes(to: router)
    DocsController().addRoutes(to: router)
    let panel = router.group().add(middleware: AgentAuthMiddleware(agents: agents))
    TicketController(tickets: tickets, notifier: notifier, templates: templates, sendWait: settings.sendWait)
        .addRoutes(to: panel)
    EvidenceController(attachments: attachments, tickets: tickets).addRoutes(to: panel)

    let workers: [any Service] = [
        committer,
        AdminBootstrap(agents: agents, settings: settings, logger: logger),
        OutboxPublisher(committer: committer, connection: connection, wakeup: outboxWakeup, logger: logger),
        MessageConsumer(
            connection: connection, queue: MostradorTopology.apiResults.name, prefetch: 200,
            router: ResultsConsumer.router(tickets: tickets, notifier: notifier), logger: logger),
    ]
    return ServiceApplication.make(
        configuration: configuration, connection: connection, workers: workers, router: router)
}

/// Creates the first admin from `MOSTRADOR_ADMIN_USER`/`MOSTRADOR_ADMIN_PASSWORD` once the writer runs.
struct AdminBootstrap: Service {
    let agents: AgentStore
    let settings: APISettings
    let logger: Logger

    func run() async throws {
        if let user = settings.adminUser, let password = settings.adminPassword {
            if try await agents.bootstrapAdmin(username: user, password: password) {
                logger.notice("created the first admin", metadata: ["username": "\(user)"])
            }
        }
        try? await gracefulShutdown()
    }
}
