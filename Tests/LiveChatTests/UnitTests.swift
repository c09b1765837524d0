import Foundation
import MostradorContracts
import NIOHTTP1
import Testing

@testable import MostradorAPI
@testable import MostradorBridgeRelay

@Suite struct SenderAddressTests {
    @Test(arguments: [
        ("+5214772758198", "524772758198"),
        ("5214772758198@s.whatsapp.net", "524772758198"),
        ("5214772758198@c.us", "524772758198"),
        ("524772758198", "524772758198"),
        ("+52 477 275 8198", "524772758198"),
        ("5214772758198:12@s.whatsapp.net", "524772758198"),
        ("14155550100", "14155550100"),
    ])
    func phoneFormsOfOnePersonMatch(_ raw: String, _ expected: String) throws {
        let address = try SenderAddress(raw)
        #expect(address.kind == .phone)
        #expect(address.value == expected)
        // The device suffix names a device, not the person: it is not kept for writing back.
        #expect(address.address == raw.replacingOccurrences(of: ":12", with: ""))
    }

    @Test func aDeviceSuffixWithoutAServerIsDroppedToo() throws {
        let address = try SenderAddress("+5214771234567:3")
        #expect(address.address == "+5214771234567")
        #expect(address.display == "+5214771234567")
    }

    @Test func lidSendersAreAnIdentityOfTheirOwnKind() throws {
        let address = try SenderAddress("123456789012345@lid")
        #expect(address.kind == .lid)
        #expect(address.value == "123456789012345")
        #expect(address.display == "123456789012345@lid")
    }

    @Test(arguments: ["", "  ", "hola", "123", "<script>@s.whatsapp.net", "52147727581981234567", "x@gmail.com"])
    func whatIsNotAWhatsAppAddressIsRefused(_ raw: String) {
        #expect(throws: SenderAddress.Problem.self) { try SenderAddress(raw) }
    }
}

@Suite struct DeliveryRulesTests {
    @Test func aLateReportNeverMovesAMessageBackwards() {
        #expect(DeliveryStatus.sent.mayFollow(.waitingBridge))
        #expect(DeliveryStatus.retrying.mayFollow(.retrying))
        #expect(!DeliveryStatus.retrying.mayFollow(.sent))
        #expect(!DeliveryStatus.failed.mayFollow(.sent))
        #expect(DeliveryStatus.read.mayFollow(.delivered))
        #expect(!DeliveryStatus.waitingBridge.mayFollow(.delivered))
    }

    @Test func bridgeAnswersAreClassifiedAsTheIssueSays() {
        let none = HTTPHeaders()
        #expect(
            SeedBridgeAdapter.outcome(status: 200, headers: none, body: Data(#"{"id":"ABC"}"#.utf8))
                == .sent(providerID: "ABC"))
        #expect(SeedBridgeAdapter.outcome(status: 201, headers: none, body: Data()) == .sent(providerID: nil))
        #expect(
            SeedBridgeAdapter.outcome(
                status: 503, headers: none, body: Data(#"{"error":"WhatsApp desconectado"}"#.utf8))
                == .channelDown(reason: "WhatsApp desconectado"))
        #expect(
            SeedBridgeAdapter.outcome(status: 500, headers: none, body: Data())
                == .transient(reason: "HTTP 500", retryAfter: nil))
        #expect(
            SeedBridgeAdapter.outcome(status: 429, headers: ["Retry-After": "7"], body: Data())
                == .transient(reason: "HTTP 429", retryAfter: .seconds(7)))
        #expect(
            SeedBridgeAdapter.outcome(status: 400, headers: none, body: Data(#"{"error":"número no válido"}"#.utf8))
                == .rejected(reason: "número no válido"))
        if case .channelDown = SeedBridgeAdapter.outcome(status: 401, headers: none, body: Data()) {
        } else {
            Issue.record("a refused token must park, not fail, the messages")
        }
    }

    @Test func backoffHasFullJitterUpToAFiveMinuteCap() {
        for attempt in 1...20 {
            let delay = Relay.backoff(attempt: attempt)
            #expect(delay >= .seconds(1))
            #expect(delay <= .seconds(300))
        }
        let spread = Set((0..<50).map { _ in Relay.backoff(attempt: 8).components.seconds })
        #expect(spread.count > 5)
    }

    @Test func templatesFillInNameAndTicketInTheCustomersLanguage() throws {
        let templates = try Templates.load(path: nil)
        let spanish = try #require(templates.render("Equipo listo", language: "es", customerName: "Ana", ticketID: 7))
        #expect(spanish.contains("Ana") && spanish.contains("#7") && spanish.contains("listo"))
        let english = try #require(templates.render("equipo listo", language: "en", customerName: nil, ticketID: 7))
        #expect(english.contains("ready") && english.contains("customer"))
        #expect(templates.render("no existe", language: "es", customerName: nil, ticketID: 1) == nil)
    }

    @Test func secretsAreComparedWithoutShortcuts() {
        #expect(constantTimeEquals("abc", "abc"))
        #expect(!constantTimeEquals("abc", "abd"))
        #expect(!constantTimeEquals("abc", "abcd"))
        #expect(!constantTimeEquals("", "a"))
    }
}
