import AsyncHTTPClient
import Foundation
import MostradorContracts
import MostradorServiceKit
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

@testable import MostradorBridgeRelay

/// The relay's WAHA and Evolution API adapters against a real HTTP stand-in that answers as their docs show.
@Suite("WAHA and Evolution API channels")
struct GatewayChannelTests {
    static func with(
        session: String = "default", _ body: (HTTPClient, FakeGateway, WhatsAppGateways.Gateway) async throws -> Void
    ) async throws {
        let fake = try await FakeGateway(session: session)
        defer { fake.stop() }
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        do {
            try await body(client, fake, .init(url: fake.url, apiKey: fake.apiKey, session: session))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    static func message(to recipient: String) -> OutboundMessage {
        OutboundMessage(idempotencyKey: "k", recipient: recipient, text: "Su equipo está listo")
    }

    @Test func wahaSendsToTheChatIdWAHATakesAndKeepsItsMessageID() async throws {
        try await Self.with { client, fake, gateway in
            let adapter = WAHAAdapter(client: client, gateway: gateway, timeout: .seconds(5))
            for (recipient, chat) in [
                ("5214771234567@s.whatsapp.net", "5214771234567@c.us"), ("5214771234567@c.us", "5214771234567@c.us"),
                ("123123123@lid", "123123123@lid"), ("+52 1 477 123 4567", "5214771234567@c.us"),
            ] {
                guard case .sent(let id) = await adapter.send(Self.message(to: recipient)) else {
                    Issue.record("not sent to \(recipient)")
                    continue
                }
                #expect(id == fake.sentIDs.last)
                #expect(id?.hasPrefix("true_\(chat)_") == true)
                let request = try #require(fake.received.last)
                #expect(request.path == "/api/sendText")
                #expect(request.key == fake.apiKey)
                #expect(request.body["chatId"] == chat)
                #expect(request.body["session"] == "default")
                #expect(request.body["text"] == "Su equipo está listo")
            }
            #expect(await adapter.probe() == true)
            fake.working = false
            #expect(await adapter.probe() == false)
        }
    }

    @Test func wahaErrorsBecomeWhatTheRelayDoes() async throws {
        try await Self.with { client, fake, gateway in
            let adapter = WAHAAdapter(client: client, gateway: gateway, timeout: .seconds(5))
            fake.script([
                (400, #"{"message": "chatId is not a valid WhatsApp id"}"#), (500, #"{"message": "boom"}"#),
                (404, #"{"message": "Session not found"}"#),
                (422, #"{"message": "Session status is not as expected. Try again later or restart the session"}"#),
            ])
            guard case .rejected(let reason) = await adapter.send(Self.message(to: "5214771234567")) else {
                Issue.record("400 must fail the message")
                return
            }
            #expect(reason.contains("not a valid WhatsApp id"))
            guard case .transient = await adapter.send(Self.message(to: "5214771234567")) else {
                Issue.record("500 must be retried")
                return
            }
            guard case .channelDown = await adapter.send(Self.message(to: "5214771234567")) else {
                Issue.record("a missing session waits for the operator")
                return
            }
            guard case .channelDown = await adapter.send(Self.message(to: "5214771234567")) else {
                Issue.record("a session that is not WORKING parks the message")
                return
            }
            let wrongKey = WAHAAdapter(
                client: client, gateway: .init(url: fake.url, apiKey: "otra", session: "default"), timeout: .seconds(5))
            guard case .channelDown = await wrongKey.send(Self.message(to: "5214771234567")) else {
                Issue.record("a wrong key waits for the operator")
                return
            }
            #expect(await wrongKey.probe() == false)
        }
    }

    @Test func evolutionSendsTheNumberAndKeepsTheKeyID() async throws {
        try await Self.with(session: "soporte") { client, fake, gateway in
            let adapter = EvolutionAdapter(client: client, gateway: gateway, timeout: .seconds(5))
            for (recipient, number) in [
                ("5214771234567@s.whatsapp.net", "5214771234567"), ("88776655@lid", "88776655@lid"),
            ] {
                guard case .sent(let id) = await adapter.send(Self.message(to: recipient)) else {
                    Issue.record("not sent to \(recipient)")
                    continue
                }
                #expect(id == fake.sentIDs.last)
                let request = try #require(fake.received.last)
                #expect(request.path == "/message/sendText/soporte")
                #expect(request.key == fake.apiKey)
                #expect(request.body == ["number": number, "text": "Su equipo está listo"])
            }
            #expect(await adapter.probe() == true)
            fake.working = false
            #expect(await adapter.probe() == false)
        }
    }

    @Test func evolutionErrorsBecomeWhatTheRelayDoes() async throws {
        try await Self.with(session: "soporte") { client, fake, gateway in
            let adapter = EvolutionAdapter(client: client, gateway: gateway, timeout: .seconds(5))
            fake.script([
                (
                    400,
                    #"{"status": 400, "error": "Bad Request", "response": {"message": [{"exists": false, "jid": "5215550000000@s.whatsapp.net", "number": "5215550000000"}]}}"#
                ),
                (503, #"{"error": "service not activated", "code": "LICENSE_REQUIRED"}"#),
                (
                    500,
                    #"{"status": 500, "error": "Internal Server Error", "response": {"message": ["Connection Closed"]}}"#
                ),
            ])
            guard case .rejected = await adapter.send(Self.message(to: "5215550000000")) else {
                Issue.record("a number not on WhatsApp fails")
                return
            }
            guard case .channelDown(let licence) = await adapter.send(Self.message(to: "5215550000000")) else {
                Issue.record("an unlicensed 2.4 waits for the operator")
                return
            }
            #expect(licence.contains("LICENSE_REQUIRED"))
            guard case .transient(let reason, _) = await adapter.send(Self.message(to: "5215550000000")) else {
                Issue.record("500 must be retried")
                return
            }
            #expect(reason.contains("Connection Closed"))
            let otherInstance = EvolutionAdapter(
                client: client, gateway: .init(url: fake.url, apiKey: fake.apiKey, session: "otra"),
                timeout: .seconds(5))
            guard case .channelDown = await otherInstance.send(Self.message(to: "5215550000000")) else {
                Issue.record("a missing instance waits for the operator")
                return
            }
        }
    }
}
