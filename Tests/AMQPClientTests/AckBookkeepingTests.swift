import AMQPClient
import Foundation
import TestSupport
import Testing

@Suite("Acknowledgement bookkeeping")
struct AckBookkeepingTests {
    @Test func aDeliveryNeverSettledDoesNotMakeTheBookkeepingGrowWithoutLimit() async throws {
        let vhost = try await TestBroker.shared().freshVirtualHost()
        let work = WorkTopology()
        let total = 6_000
        try await withConnection(vhost, topology: work.topology) { connection in
            for batch in stride(from: 0, to: total, by: 1_000) {
                let results = await connection.publish(
                    contentsOf: (batch..<batch + 1_000).map { work.message("m\($0)") })
                #expect(results.allSatisfy { (try? $0.get()) != nil })
            }
            let consumer = connection.consume(queue: work.queue, prefetch: 50)
            let settled = Task {
                var held: AMQPDelivery?
                var count = 0
                for await delivery in consumer {
                    // The first delivery is held unsettled; every later one is acked.
                    if held == nil {
                        held = delivery
                    } else {
                        delivery.ack()
                        count += 1
                    }
                    if count == total - 1 { break }
                }
                return held
            }
            let held = await settled.value
            #expect(await eventually { (try? await connection.queueDepth(work.queue).messages) == 0 })
            #expect(await eventually { connection.trackedDeliveryTags <= 4_096 + 50 })
            #expect(connection.trackedDeliveryTags <= 4_096 + 50, "\(connection.trackedDeliveryTags) tags tracked")
            // Acks still reach the broker one by one: settling the held delivery empties the queue.
            held?.ack()
            consumer.cancel()
            let drained = await eventually {
                (try? await connection.queueDepth(work.queue)).map { $0.messages == 0 && $0.consumers == 0 } ?? false
            }
            #expect(drained)
            let leftover = try await connection.get(queue: work.queue)
            #expect(leftover == nil)
            #expect(connection.isReady)
        }
    }
}
