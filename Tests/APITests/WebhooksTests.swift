import Foundation
import HTTPTypes
import Logging
import Synchronization
import Testing

@testable import MostradorAPI

/// Admins' outbound webhooks: who may keep them, what a URL may point at, the secret shown once, the audit log, the
/// queue's bindings following what the webhooks want, and the signature a receiver checks.
@Suite struct WebhooksTests {
    static let url = "https://hooks.ejemplo.com/mostrador?cliente=7"

    static func create(_ api: APITestSystem, _ body: [String: Any], as authorization: String) async throws
        -> APITestSystem.Reply
    {
        try await api.call(.post, "/api/webhooks", authorization: authorization, json: body)
    }

    @Test func adminsKeepWebhooksAndTheSecretIsShownOnce() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let created = try await Self.create(
                api, ["url": Self.url, "events": ["message.created", "ticket.created", "message.created"]],
                as: admin)
            #expect(created.status == 201, Comment(rawValue: created.text))
            let webhook = try created.json()
            let id = try #require(webhook["id"] as? Int)
            let secret = try #require(webhook["secret"] as? String)
            #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit))
            #expect(webhook["secret_hint"] as? String == "…" + secret.suffix(4))
            // Known order, each once.
            #expect(webhook["events"] as? [String] == ["ticket.created", "message.created"])
            #expect(webhook["active"] as? Bool == true)
            #expect(webhook["last_status"] is NSNull)

            let listed = try await api.call(.get, "/api/webhooks", authorization: admin).list()
            #expect(listed.count == 1)
            #expect(listed.first?["secret"] is NSNull)
            #expect(!(try await api.call(.get, "/api/webhooks/\(id)", authorization: admin).text.contains(secret)))

            let patched = try await api.call(
                .patch, "/api/webhooks/\(id)", authorization: admin, json: ["events": ["*"], "active": false])
            #expect(patched.status == 200, Comment(rawValue: patched.text))
            #expect((try patched.json()["events"] as? [String]) == Webhook.eventTypes)
            #expect(try patched.json()["active"] as? Bool == false)
            #expect(try patched.json()["secret"] is NSNull)
            let rotated = try await api.call(
                .patch, "/api/webhooks/\(id)", authorization: admin, json: ["secret": "un-secreto-nuevo-de-prueba"])
            #expect(try rotated.json()["secret"] as? String == "un-secreto-nuevo-de-prueba")
            #expect(try await api.call(.get, "/api/webhooks/\(id)/deliveries", authorization: admin).list().isEmpty)
            #expect(try await api.call(.delete, "/api/webhooks/\(id)", authorization: admin).status == 204)
            #expect(try await api.call(.delete, "/api/webhooks/\(id)", authorization: admin).status == 404)
            #expect(try await api.call(.get, "/api/webhooks/\(id)", authorization: admin).status == 404)

            // The audit log has each change, with the host only (a query string may carry the receiver's token)
            // and never the secret.
            let audit = try await AuditTests.entries(api, "?action=webhook", as: admin)
            #expect(
                AuditTests.actions(audit) == ["webhook.delete", "webhook.update", "webhook.update", "webhook.create"])
            #expect((audit.last?["details"] as? [String: String])?["servidor"] == "hooks.ejemplo.com")
            #expect((audit[1]["details"] as? [String: String])?["secreto"] == "cambiado")
            let stored = try await api.pool.read { db in
                try String.fetchAll(db, sql: "SELECT coalesce(details, '') FROM audit_log")
            }.joined()
            #expect(!stored.contains(secret))
            #expect(!stored.contains("un-secreto-nuevo"))
            #expect(!stored.contains("cliente=7"))
        }
    }

    @Test func onlyAdminsReachWebhooks() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat()
            let id = try #require(
                try await Self.create(api, ["url": Self.url, "events": ["ticket.created"]], as: admin).json()["id"]
                    as? Int)
            for authorization in [nil, tecnico.authorization, chat.authorization] {
                let expected = authorization == nil ? 401 : 403
                for (method, path) in [
                    (HTTPRequest.Method.get, "/api/webhooks"), (.get, "/api/webhooks/\(id)"),
                    (.get, "/api/webhooks/\(id)/deliveries"), (.delete, "/api/webhooks/\(id)"),
                ] {
                    let reply = try await api.call(method, path, authorization: authorization)
                    #expect(reply.status == expected, Comment(rawValue: "\(method) \(path): \(reply.text)"))
                }
                let created = try await Self.create(
                    api, ["url": Self.url, "events": ["ticket.created"]], as: authorization ?? "")
                #expect(created.status == expected)
            }
            #expect(try await api.call(.get, "/api/webhooks", authorization: admin).list().count == 1)
        }
    }

    @Test func badWebhooksAreRefusedWithAReason() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let events = ["ticket.created"]
            for url in [
                "", "hooks.ejemplo.com/x", "ftp://hooks.ejemplo.com/x", "javascript:alert(1)", "https:///sin-host",
                "https://usuario:clave@hooks.ejemplo.com/", "https://hooks.ejemplo.com/#frag",
                "http://127.0.0.1:8080/", "http://localhost/", "http://api.localhost/", "http://[::1]/",
                "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://192.168.0.10/",
                "http://172.20.0.1/", "http://2130706433/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/",
                "http://[fd00::1]/", "https://" + String(repeating: "a", count: 2000) + ".com/",
            ] {
                let reply = try await Self.create(api, ["url": url, "events": events], as: admin)
                #expect(reply.status == 400, Comment(rawValue: "\(url.prefix(60)): \(reply.text)"))
                #expect(reply.failure != nil)
            }
            for body: [String: Any] in [
                ["url": Self.url],
                ["url": Self.url, "events": []],
                ["url": Self.url, "events": ["ticket.borrado"]],
                ["url": Self.url, "events": ["notification.created"]],
                ["url": Self.url, "events": "ticket.created"],
                ["url": Self.url, "events": events, "secret": "corto"],
                ["url": Self.url, "events": events, "secret": "con espacios dentro del secreto"],
                ["url": Self.url, "events": events, "description": String(repeating: "d", count: 201)],
                ["url": 42, "events": events],
                ["events": events],
            ] {
                let reply = try await Self.create(api, body, as: admin)
                #expect(reply.status == 400, Comment(rawValue: "\(body): \(reply.text)"))
                #expect(reply.failure != nil)
            }
            let unknown = try await Self.create(api, ["url": Self.url, "events": ["ticket.borrado"]], as: admin)
            #expect(unknown.text.contains("ticket.borrado"))
            let malformed = try await api.call(
                .post, "/api/webhooks", authorization: admin, body: Data("{\"url\":".utf8))
            #expect(malformed.status == 400)
            let created = try await Self.create(api, ["url": Self.url, "events": events], as: admin)
            let id = try #require(try created.json()["id"] as? Int)
            #expect(try await api.call(.patch, "/api/webhooks/\(id)", authorization: admin, json: [:]).status == 400)
            #expect(
                try await api.call(
                    .patch, "/api/webhooks/\(id)", authorization: admin, json: ["url": "http://10.0.0.1/"]
                )
                .status == 400)
            #expect(
                try await api.call(.get, "/api/webhooks/\(id)", authorization: admin).json()["url"] as? String
                    == Self.url)
            #expect(try await api.call(.delete, "/api/webhooks/\(id)", authorization: admin).status == 204)
            #expect(
                try await api.call(.patch, "/api/webhooks/999", authorization: admin, json: ["active": false]).status
                    == 404)
            #expect(try await api.call(.get, "/api/webhooks/abc", authorization: admin).status == 404)
            // Nothing was stored by any of that.
            #expect(try await api.call(.get, "/api/webhooks", authorization: admin).list().isEmpty)
        }
    }

    @Test func privateAddressesAreAllowedOnlyWhenTheOperatorSaysSo() async throws {
        try await APITestSystem.with(configure: { $0.outboundWebhooksAllowPrivate = true }) { api in
            let admin = try await api.admin()
            let reply = try await Self.create(
                api, ["url": "http://127.0.0.1:9999/hooks", "events": ["ticket.created"]], as: admin)
            #expect(reply.status == 201, Comment(rawValue: reply.text))
        }
        // With the default, a name that resolves inside is refused when a delivery would go out.
        let address = WebhookAddress(allowPrivate: false)
        await #expect(throws: WebhookAddress.Refused.self) {
            try await address.checkResolved(URL(string: "http://localhost.:8080/")!)
        }
        #expect(WebhookAddress.isInternal(IPAddress("100.64.1.1")!))
        #expect(!WebhookAddress.isInternal(IPAddress("8.8.8.8")!))
        #expect(!WebhookAddress.isInternal(IPAddress("2001:4860:4860::8888")!))
    }

    @Test func theQueueIsBoundToWhatActiveWebhooksWant() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let bound = Mutex<Set<String>>([])
            let bindings = WebhookBindings(
                apply: { type, isBound in
                    bound.withLock { set in
                        if isBound { set.insert(type) } else { set.remove(type) }
                    }
                }, webhooks: api.components.webhooks, logger: Logger(label: "test"))
            await bindings.sync()
            #expect(bound.withLock { $0 }.isEmpty)
            let first = try #require(
                try await Self.create(api, ["url": Self.url, "events": ["ticket.created"]], as: admin).json()["id"]
                    as? Int)
            _ = try await Self.create(
                api, ["url": Self.url, "events": ["message.created", "ticket.created"], "active": false], as: admin)
            await bindings.sync()
            #expect(bound.withLock { $0 } == ["ticket.created"])
            _ = try await api.call(
                .patch, "/api/webhooks/\(first)", authorization: admin, json: ["events": ["chat.transferred"]])
            await bindings.sync()
            #expect(bound.withLock { $0 } == ["chat.transferred"])
            _ = try await api.call(.delete, "/api/webhooks/\(first)", authorization: admin)
            await bindings.sync()
            #expect(bound.withLock { $0 }.isEmpty)
        }
    }

    @Test func theSignatureIsHMACSHA256OfTheRawBody() {
        // RFC 4231, test case 2.
        #expect(
            OutboundWebhooks.signature(of: Array("what do ya want for nothing?".utf8), secret: "Jefe")
                == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let body = OutboundWebhooks.body(
            eventID: "e1", type: "ticket.created", at: Date(timeIntervalSince1970: 0),
            event: Array(#"{"ticket_id":7}"#.utf8))
        let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        #expect(object?["id"] as? String == "e1")
        #expect(object?["event"] as? String == "ticket.created")
        #expect(object?["created_at"] as? String == "1970-01-01T00:00:00.000Z")
        #expect((object?["data"] as? [String: Any])?["ticket_id"] as? Int == 7)
        #expect(OutboundWebhooks.delay(afterAttempt: 1) == .seconds(1))
        #expect(OutboundWebhooks.delay(afterAttempt: 4) == .seconds(8))
        #expect(OutboundWebhooks.delay(afterAttempt: 40) == .seconds(300))
    }
}
