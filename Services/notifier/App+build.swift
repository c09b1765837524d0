import Hummingbird
import MostradorMessaging
import MostradorServiceKit
import ServiceLifecycle

/// Wires the notifier: broker connection → event consumer → HTTP. It keeps no database: any number of instances
/// can run side by side.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let logger = configuration.logger
    let templates = try NoticeTemplates.load(path: configuration.setting("MOSTRADOR_NOTIFIER_TEMPLATES"))
    let connection = ServiceApplication.connection(configuration)
    let notifier = Notifier(rules: NotificationRules(templates: templates), connection: connection, logger: logger)
    let consumer = MessageConsumer(
        connection: connection, queue: MostradorTopology.notifierEvents.name, prefetch: 200, lanes: 8,
        router: notifier.router, logger: logger)
    return ServiceApplication.make(
        configuration: configuration, connection: connection, workers: [consumer], router: Router())
}
