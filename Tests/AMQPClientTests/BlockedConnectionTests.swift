import AMQPClient
import Foundation
import TestSupport
import Testing

@Suite("A broker resource alarm")
struct BlockedConnectionTests {
    @Test func memoryAlarmPausesPublishingWhileTheConsumerConnectionKeepsReceivingAndAcking() async throws {
        try await TestBroker.withDedicated { broker in
            var configuration = try await broker.configuration
            configuration.heartbeat = 2
            var consumerConfiguration = configuration
            consumerConfiguration.connectionName += "-consume"
            let work = WorkTopology()
            let queued = 20
            try await withConnection(configuration, topology: work.topology) { publisher in
                try await withConnection(consumerConfiguration, topology: work.topology) { consumerConnection in
                    for index in 0..<queued { try await publisher.publish(work.message("before \(index)")) }

                    try await broker.ctl(["set_vm_memory_high_watermark", "0.0000001"])
                    let alarmed = await eventually(timeout: .seconds(30), poll: .milliseconds(500)) {
                        (try? await broker.ctl(["eval", "rabbit_alarm:get_alarms()."]))?.contains("memory") == true
                    }
                    try #require(alarmed)
                    // The broker blocks a connection (and says so) when it publishes during an alarm.
                    let outcomes = Outcomes()
                    let publishing = Task {
                        do {
                            try await publisher.publish(work.message("during"))
                            outcomes.record("confirmed")
                        } catch {
                            outcomes.record("\(error)")
                        }
                    }
                    #expect(await eventually(timeout: .seconds(30)) { publisher.isBlocked })
                    let more = Task { await publisher.publish(contentsOf: (0..<50).map { work.message("more \($0)") }) }

                    // A prefetch of 5 only lets all 20 through if the acks reach the broker during the alarm.
                    let collector = Collector()
                    let consumer = consumerConnection.consume(queue: work.queue, prefetch: 5)
                    let collecting = consumer.collect(into: collector)
                    #expect(await eventually(timeout: .seconds(30)) { await collector.count == queued })

                    // Several heartbeat intervals later: still blocked, nothing lost, neither connection dropped.
                    let start = ContinuousClock.now
                    var stayedUp = true
                    while ContinuousClock.now - start < .seconds(6) {
                        stayedUp = stayedUp && publisher.isReady && consumerConnection.isReady
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    #expect(stayedUp)
                    #expect(publisher.isBlocked)
                    #expect(outcomes.all.isEmpty, "published during the alarm: \(outcomes.all)")

                    try await broker.ctl(["set_vm_memory_high_watermark", "0.4"])
                    #expect(await eventually(timeout: .seconds(30)) { outcomes.all == ["confirmed"] })
                    let afterwards = await more.value
                    #expect(afterwards.allSatisfy { (try? $0.get()) != nil })
                    #expect(await eventually(timeout: .seconds(30)) { await collector.count == queued + 51 })
                    #expect(!publisher.isBlocked)
                    consumer.cancel()
                    await collecting.value
                    await publishing.value
                }
            }
        }
    }
}
