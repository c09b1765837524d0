import Hummingbird
import MostradorMessaging
import MostradorServiceKit
import ServiceLifecycle

/// Wires the notifier: broker connection → event consumer → HTTP. It keeps no database: any number of instances
/// can run side by side.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let logger = configuration.logger
    let templates = try NoticeTemplates.load(path: configuration.setting("MOSTRADOR_NOTIFIER_TEMPLATES"))
    let connections = ServiceApplication.connections(configuration)
    let notifier = Notifier(
        rules: NotificationRules(templates: templates), connection: connections.publisher, logger: logger)
    let consumer = MessageConsumer(
        connection: connections.consumer, publisher: connections.publisher,
        queue: MostradorTopology.notifierEvents.name, prefetch: 200, lanes: 8, router: notifier.router,
        retryPolicy: try configuration.handlerRetryPolicy(), logger: logger)
    return ServiceApplication.make(
        configuration: configuration, connections: connections, workers: [consumer], router: Router())
}
