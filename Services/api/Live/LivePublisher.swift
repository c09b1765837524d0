/// Where the application layer announces changes for live clients (every api instance). `LiveFeed` publishes them
/// on the broker; tests record them.
protocol LivePublisher: Sendable {
    func send(_ event: LiveEvent)
}

extension LivePublisher {
    /// New messages in the ticket.
    func changed(_ ticketID: Int64) { send(LiveEvent(ticketID: ticketID, kind: .messages)) }

    /// The agent's sessions or rights changed: their open sockets are checked again on every instance.
    func sessionsRevoked(_ agent: Agent) {
        send(LiveEvent(ticketID: 0, kind: .sessionsRevoked, userID: agent.liveID))
    }

    func deliveryChanged(_ ticketID: Int64, messageID: Int64) {
        send(LiveEvent(ticketID: ticketID, kind: .delivery, messageID: messageID))
    }
}

extension LiveFeed: LivePublisher {}
