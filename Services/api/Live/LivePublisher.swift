/// Where the application layer announces changes for live clients (every api instance). `LiveFeed` publishes them
/// on the broker; tests record them.
protocol LivePublisher: Sendable {
    func send(_ event: LiveEvent)
}

extension LivePublisher {
    /// New messages in the ticket.
    func changed(_ ticketID: Int64) { send(LiveEvent(ticketID: ticketID, kind: .messages)) }

    func deliveryChanged(_ ticketID: Int64, messageID: Int64) {
        send(LiveEvent(ticketID: ticketID, kind: .delivery, messageID: messageID))
    }
}

extension LiveFeed: LivePublisher {}
