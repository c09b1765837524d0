import AMQPClient
import Foundation
import MostradorMessaging
import TestSupport
import Testing

@Suite struct ZZExperiment {
    @Test(arguments: ["alo-quorum-target", "alo-classic-target", "amo", "classic-delay"]) func delayQueueDuplicates(_ variant: String) async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        var delay: AMQPTopology.Queue
        let target: AMQPTopology.Queue = variant == "alo-classic-target" ? AMQPTopology.Queue("exp") : .quorum("exp", deliveryLimit: 5, deadLetterExchange: nil)
        switch variant {
        case "amo":
            delay = .quorum("delay", deliveryLimit: 10, deadLetterExchange: nil, extraArguments: ["x-message-ttl": 1000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "exp"])
        case "classic-delay":
            delay = AMQPTopology.Queue("delay", arguments: ["x-message-ttl": 1000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "exp"])
        default:
            delay = .quorum("delay", deliveryLimit: 10, deadLetterExchange: "", deadLetterRoutingKey: "exp", extraArguments: ["x-message-ttl": 1000])
        }
        let topology = AMQPTopology(queues: [target, delay])
        try await withConnection(vhost, topology: topology) { connection in
            for i in 0..<2 {
                try await connection.publish(AMQPMessage(exchange: "", routingKey: "delay", body: Array("m\(i)".utf8),
                    properties: AMQPProperties(messageID: "m\(i)")))
            }
            let consumer = connection.consume(queue: "exp", prefetch: 10)
            let t0 = ContinuousClock.now
            let task = Task { var seen: [String] = []; for await d in consumer { let e = ContinuousClock.now - t0; seen.append("\(d.properties.messageID ?? "?")@\(e.components.seconds * 1000 + e.components.attoseconds / 1_000_000_000_000_000)"); d.ack() }; return seen }
            try await Task.sleep(for: .seconds(9))
            consumer.cancel()
            let seen = await task.value
            print("EXPERIMENT \(variant) seen=\(seen)")
        }
    }
}
