import AMQPClient

/// The dead-letter queue, read and re-driven with `basic.get`.
///
/// A pass holds every message it looked at unacknowledged (so the next `get` hands out the next one) and then
/// returns them to the queue, in their order. The broker counts each return against the queue's delivery limit
/// (1,000), so reading is cheap but not free. Acknowledgements go out asynchronously: shut the connection down
/// (which sends them) before exiting.
public struct DeadLetterQueue: Sendable {
    public let connection: AMQPConnection
    public let name: String

    public init(connection: AMQPConnection, name: String = MostradorTopology.deadLetterQueue) {
        self.connection = connection
        self.name = name
    }

    /// Messages waiting (not counting those someone holds right now).
    public func depth() async throws -> Int {
        Int(try await connection.queueDepth(name).messages)
    }

    /// Up to `limit` messages from the head of the queue, left in it.
    public func peek(limit: Int = .max) async throws -> [DeadLetter] {
        var held = Held()
        defer { held.returnAll() }
        let count = min(limit, try await depth())
        while held.deliveries.count < count, let delivery = try await connection.get(queue: name) {
            held.deliveries.append(delivery)
        }
        return held.deliveries.map(DeadLetter.init)
    }

    /// What a redrive did.
    public struct RedriveReport: Sendable {
        public var redriven: [DeadLetter] = []
        public var failed: [(letter: DeadLetter, error: String)] = []
    }

    /// Puts back every message `matching`: each is republished to the queue it died in and removed from here once
    /// the broker confirmed the copy (a copy that fails leaves it here). Looks at no more messages than the queue
    /// held when it began, so a message that dies again at once waits for the next redrive.
    public func redrive(matching: (DeadLetter) -> Bool) async throws -> RedriveReport {
        var held = Held()
        defer { held.returnAll() }
        var report = RedriveReport()
        let count = try await depth()
        var examined = 0
        while examined < count, let delivery = try await connection.get(queue: name) {
            examined += 1
            let letter = DeadLetter(delivery)
            guard matching(letter) else {
                held.deliveries.append(delivery)
                continue
            }
            guard let message = letter.redriveMessage() else {
                held.deliveries.append(delivery)
                report.failed.append((letter, "no se sabe de qué cola vino (sin x-mostrador-queue ni x-death)"))
                continue
            }
            do {
                try await connection.publish(message)
                delivery.ack()
                report.redriven.append(letter)
            } catch {
                held.deliveries.append(delivery)
                report.failed.append((letter, "\(error)"))
            }
        }
        return report
    }

    /// Deliveries taken for a look, returned to the queue when the pass ends.
    private struct Held {
        var deliveries: [AMQPDelivery] = []

        func returnAll() {
            for delivery in deliveries { delivery.nack(requeue: true) }
        }
    }
}
