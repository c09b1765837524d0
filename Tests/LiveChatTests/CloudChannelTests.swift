import AsyncHTTPClient
import Foundation
import Logging
import MostradorContracts
import NIOCore
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

@testable import MostradorBridgeRelay

/// The relay's Cloud API adapter against a real HTTP stand-in for the Graph API that answers as Meta's samples do.
@Suite("WhatsApp Cloud API channel")
struct CloudChannelTests {
    static func with(_ body: (CloudAPIAdapter, FakeCloudAPI) async throws -> Void) async throws {
        let graph = try await FakeCloudAPI()
        defer { graph.stop() }
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        do {
            let adapter = CloudAPIAdapter(
                client: client, baseURL: graph.url, phoneNumberID: "1122334455667", token: graph.token,
                timeout: .seconds(5))
            try await body(adapter, graph)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    static func message(_ text: String = "Su equipo está listo", to recipient: String = "5214771234567")
        -> OutboundMessage
    {
        OutboundMessage(idempotencyKey: "clave-1", recipient: recipient, text: text)
    }

    @Test func aTextGoesToTheNumbersMessagesEndpointAsMetaDocumentsIt() async throws {
        try await Self.with { adapter, graph in
            let outcome = await adapter.send(Self.message())
            guard case .sent(let providerID) = outcome else {
                Issue.record("expected sent, got \(outcome)")
                return
            }
            #expect(providerID?.hasPrefix("wamid.") == true)
            let request = try #require(graph.received.first)
            #expect(request.phoneNumberID == "1122334455667")
            #expect(request.authorization == "Bearer \(graph.token)")
            #expect(request.body["messaging_product"] as? String == "whatsapp")
            #expect(request.body["type"] as? String == "text")
            #expect(request.body["to"] as? String == "5214771234567")
            #expect(request.body["recipient"] == nil)
            #expect(request.text == "Su equipo está listo")
            #expect(request.body["biz_opaque_callback_data"] as? String == "clave-1")
            #expect(await adapter.probe() == true)
        }
    }

    @Test func aUsernameUserIsAddressedByTheirBSUID() async throws {
        try await Self.with { adapter, graph in
            guard case .sent = await adapter.send(Self.message(to: "US.13491208655302741918")) else {
                Issue.record("expected sent")
                return
            }
            let request = try #require(graph.received.first)
            #expect(request.body["recipient"] as? String == "US.13491208655302741918")
            #expect(request.body["to"] == nil)
        }
    }

    @Test func graphErrorsBecomeWhatTheRelayDoes() async throws {
        try await Self.with { adapter, graph in
            graph.script([
                .init(status: 400, code: 131047, message: "Re-engagement message"),
                .init(status: 400, code: 130429, message: "Rate limit hit", retryAfter: "12"),
                .init(status: 400, code: 131056, message: "Pair rate limit hit"),
                .init(status: 400, code: 80007, message: "Rate limit issues"),
                .init(status: 400, code: 131026, message: "Message undeliverable"),
                .init(status: 400, code: 131030, message: "Recipient phone number not in allowed list"),
                .init(status: 400, code: 100, message: "Invalid parameter"),
                .init(status: 401, code: 190, message: "Invalid OAuth access token"),
                .init(status: 500, code: 131016, message: "Service unavailable"),
            ])
            var outcomes: [SendOutcome] = []
            for _ in 0..<9 { outcomes.append(await adapter.send(Self.message())) }
            guard case .rejected(let window) = outcomes[0] else {
                Issue.record("131047 must fail the message: \(outcomes[0])")
                return
            }
            #expect(window.hasPrefix("fuera de la ventana de 24 h"))
            #expect(
                outcomes[1]
                    == .transient(
                        reason: "límite de envío de WhatsApp: (#130429) Rate limit hit: Rate limit hit",
                        retryAfter: .seconds(12)))
            for index in [2, 3, 8] {
                guard case .transient = outcomes[index] else {
                    Issue.record("outcome \(index) must be retried: \(outcomes[index])")
                    continue
                }
            }
            for index in [4, 5, 6] {
                guard case .rejected(let reason) = outcomes[index] else {
                    Issue.record("outcome \(index) must fail: \(outcomes[index])")
                    continue
                }
                #expect(!reason.isEmpty)
            }
            guard case .channelDown = outcomes[7] else {
                Issue.record("a bad token waits for the operator: \(outcomes[7])")
                return
            }
        }
    }

    @Test func anUnreachableGraphIsAChannelDownAndAWrongTokenFailsTheProbe() async throws {
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        defer { _ = client.shutdown() }
        let nowhere = CloudAPIAdapter(
            client: client, baseURL: "http://127.0.0.1:\(try freePort())/v23.0", phoneNumberID: "1",
            token: "x", timeout: .seconds(2))
        guard case .channelDown = await nowhere.send(Self.message()) else {
            Issue.record("connection refused must park")
            return
        }
        #expect(await nowhere.probe() == false)
        try await Self.with { adapter, graph in
            graph.down = true
            #expect(await adapter.probe() == false)
        }
    }

    @Test func hostileAnswersNeverTrap() {
        let none: HTTPHeaders = [:]
        for body in ["", "null", "[]", #"{"error": "x"}"#, #"{"error": {"code": "nan"}}"#, #"{"messages": 5}"#] {
            _ = CloudAPIAdapter.outcome(status: 400, headers: ["Retry-After": "1e300"], body: Data(body.utf8))
            _ = CloudAPIAdapter.outcome(status: 200, headers: none, body: Data(body.utf8))
        }
        #expect(
            CloudAPIAdapter.outcome(status: 200, headers: none, body: Data(#"{"messages": [{"id": "wamid.A"}]}"#.utf8))
                == .sent(providerID: "wamid.A"))
    }
}

/// A relay with two channels: each conversation goes out through its own, and one channel being down holds only
/// its own customers.
@Suite("Relay with several channels")
struct RelayChannelTests {
    @Test func eachMessageGoesThroughItsConversationsChannelAndOneChannelDownHoldsOnlyItsOwn() async throws {
        try await RelayRig.with { rig in
            let cloud = ScriptedChannel()
            let relay = Relay(
                adapters: [.seedBridge: rig.channel, .cloudAPI: cloud], ledger: rig.ledger, reports: rig.reports,
                settings: rig.relay.settings, logger: rig.logger)
            let monitor = BridgeMonitor(relay: relay, logger: rig.logger)
            func command(_ id: Int64, _ channel: WhatsAppChannel?, to recipient: String) -> RelaySend {
                RelaySend(ticketID: id, messageID: id, recipient: recipient, text: "m\(id)", channel: channel?.rawValue)
            }
            _ = try await relay.handle(command(1, nil, to: "5215550000001"), messageID: "m1", attempt: 0)
            _ = try await relay.handle(command(2, .cloudAPI, to: "5215550000002"), messageID: "m2", attempt: 0)
            #expect(rig.channel.sentKeys == ["m1"])
            #expect(cloud.sentKeys == ["m2"])

            // The Cloud API goes down: its customers wait, the seed bridge's do not.
            cloud.script(["m3": [.channelDown(reason: "token caducado")]])
            cloud.health = false
            _ = try await relay.handle(command(3, .cloudAPI, to: "5215550000002"), messageID: "m3", attempt: 0)
            #expect(relay.isDown(.cloudAPI))
            #expect(!relay.isDown(.seedBridge))
            _ = try await relay.handle(command(4, .cloudAPI, to: "5215550000003"), messageID: "m4", attempt: 0)
            _ = try await relay.handle(command(5, nil, to: "5215550000001"), messageID: "m5", attempt: 0)
            #expect(rig.channel.sentKeys == ["m1", "m5"])
            #expect(cloud.sentKeys == ["m2", "m3"])
            #expect(rig.reports.statuses(of: 4) == [.waitingBridge])
            try await monitor.check()
            #expect(cloud.sentKeys == ["m2", "m3"])

            // It comes back: the parked ones go in order.
            cloud.health = true
            try await monitor.check()
            #expect(cloud.sentKeys == ["m2", "m3", "m3", "m4"])
            #expect(!relay.isDown(.cloudAPI))
            #expect(try await rig.ledger.entry("m4")?.command.channel == "cloud")
            #expect(rig.reports.statuses(of: 4).last == .sent)
        }
    }

    @Test func aMessageForAChannelThisRelayDoesNotSpeakFailsWithTheReason() async throws {
        try await RelayRig.with { rig in
            for (id, channel) in [(Int64(1), "cloud"), (2, "telegram")] {
                let command = RelaySend(
                    ticketID: id, messageID: id, recipient: "5215550000001", text: "hola", channel: channel)
                let outcome = try await rig.relay.handle(command, messageID: "m\(id)", attempt: 0)
                #expect(outcome == .ack)
                #expect(rig.reports.statuses(of: id) == [.failed])
                let entry = try await rig.ledger.entry("m\(id)")
                #expect(entry?.reason?.contains("no está configurado") == true)
            }
            #expect(rig.channel.sentKeys.isEmpty)
        }
    }
}
