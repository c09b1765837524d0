import Synchronization

/// Where stores announce changes for live clients; attached to the `LiveFeed` once it exists (the feed needs the
/// stores, the stores need somewhere to announce). Before that, announcements are dropped.
final class LiveSignal: Sendable {
    private let feed = Mutex<LiveFeed?>(nil)

    func attach(_ feed: LiveFeed) { self.feed.withLock { $0 = feed } }

    func changed(_ ticketID: Int64) { feed.withLock { $0 }?.changed(ticketID: ticketID) }

    func deliveryChanged(_ ticketID: Int64, messageID: Int64) {
        feed.withLock { $0 }?.deliveryChanged(ticketID: ticketID, messageID: messageID)
    }

    func send(_ event: LiveEvent) { feed.withLock { $0 }?.send(event) }
}
