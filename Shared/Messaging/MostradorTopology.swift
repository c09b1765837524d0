import AMQPClient
import MostradorContracts

/// Mostrador's exchanges and queues (design.md, "Messaging contract"). Every service declares all of it, so an
/// event published before its consumer ever started waits in that consumer's queue instead of being unroutable.
public enum MostradorTopology {
    public static let events = "mostrador.events"
    public static let commands = "mostrador.commands"
    /// Delayed retries. It was `mostrador.retry`, whose bindings (`x-match: all`) matched every delay level, so each
    /// retry came back once per level; broker bindings outlive a fix, hence the new name for the exchange and queues.
    public static let retry = "mostrador.delay"
    public static let dead = "mostrador.dead"
    public static let live = "mostrador.live"
    public static let deadLetterQueue = "mostrador.dead-letters"

    /// How often a work queue hands out a message before dead-lettering it.
    public static let deliveryLimit = 5

    /// A service's work queue and what feeds it.
    public struct WorkQueue: Sendable, Hashable {
        public var name: String
        public var exchange: String
        public var routingKeys: [String]

        public init(name: String, exchange: String, routingKeys: [String]) {
            self.name = name
            self.exchange = exchange
            self.routingKeys = routingKeys
        }
    }

    /// Results the api stores: classifications, delivery reports, notifications.
    public static let apiResults = WorkQueue(
        name: "api.results", exchange: events,
        routingKeys: [TicketClassified.type, DeliveryUpdated.type, NotificationCreated.type]
    )
    /// Outbound WhatsApp messages.
    public static let relaySend = WorkQueue(name: "relay.send", exchange: commands, routingKeys: [RelaySend.type])
    /// Ticket descriptions to label.
    public static let classifierTickets = WorkQueue(
        name: "classifier.tickets", exchange: events,
        routingKeys: [TicketCreated.type, TicketDescriptionUpdated.type]
    )
    /// Domain events that may warrant a notification.
    public static let notifierEvents = WorkQueue(
        name: "notifier.events", exchange: events,
        routingKeys: [
            TicketCreated.type, MessageCreated.type, TicketAssigned.type, ChatTransferred.type,
            ChatParticipantChanged.type, TicketStatusChanged.type, DeliveryUpdated.type,
        ]
    )

    /// Events for the admins' outbound webhooks. Declared with no bindings: the api binds the event types some
    /// active webhook subscribes to, and unbinds the rest, so that without webhooks no event is copied here.
    public static let apiWebhooks = WorkQueue(name: "api.webhooks", exchange: events, routingKeys: [])

    public static let workQueues = [apiResults, relaySend, classifierTickets, notifierEvents, apiWebhooks]

    /// Retry delays: 1 s doubling to a 5-minute cap, one delay queue per level.
    public static let retryLevels = AMQPRetryLevels(
        exchange: retry, queuePrefix: retry, levels: AMQPRetryLevels.doubling()
    )

    /// The whole topology.
    public static var topology: AMQPTopology {
        var topology = AMQPTopology(
            exchanges: [
                .init(events, kind: .topic),
                .init(commands, kind: .direct),
                .init(dead, kind: .topic),
                .init(live, kind: .fanout, durable: false),
            ],
            queues: [.quorum(deadLetterQueue, deliveryLimit: 1000, deadLetterExchange: nil)],
            bindings: [.init(queue: deadLetterQueue, exchange: dead, routingKey: "#")]
        )
        for queue in workQueues {
            topology.queues.append(
                .quorum(queue.name, deliveryLimit: deliveryLimit, deadLetterExchange: dead)
            )
            topology.bindings += queue.routingKeys.map {
                .init(queue: queue.name, exchange: queue.exchange, routingKey: $0)
            }
        }
        return topology.merging(retryLevels.topology)
    }
}
