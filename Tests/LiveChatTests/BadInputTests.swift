import Foundation
import TestSupport
import Testing

/// Hostile, malformed, oversized and unauthenticated requests get a clear 4xx and change nothing stored.
@Suite("Bad input is refused and nothing stored is lost", .serialized)
struct BadInputTests {
    @Test func everyKindOfBadRequestIsRefusedWithAReasonAndNothingChanges() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let first = try await system.webhook([
            "remitente": "5215550006666", "contenido": "original", "id_mensaje": "W1",
        ])
        let ticketID = try #require(try first.json()["ticket_id"] as? Int)

        // The same bridge message id again: stored once.
        let repeated = try await system.webhook([
            "remitente": "5215550006666", "contenido": "original", "id_mensaje": "W1",
        ])
        #expect(repeated.status == 200)
        #expect(try repeated.json()["ticket_id"] as? Int == ticketID)
        #expect(try repeated.json()["duplicado"] as? Bool == true)

        let webhook = "\(system.baseURL)/webhook"
        let auth = ["Authorization": "Bearer \(MostradorSystem.webhookToken)", "Content-Type": "application/json"]
        let cases: [(String, HTTPResult, Int, String)] = [
            (
                "bad token", try await system.webhook(["remitente": "1", "contenido": "x"], token: "wrong"), 401,
                "Token"
            ),
            (
                "no token", try await HTTP.post(webhook, json: ["remitente": "5215550006666", "contenido": "x"]), 401,
                "Token"
            ),
            (
                "malformed", try await HTTP.request("POST", webhook, headers: auth, body: Data("{\"remitente\":".utf8)),
                400, "JSON"
            ),
            (
                "not an object", try await HTTP.request("POST", webhook, headers: auth, body: Data("[1,2]".utf8)), 400,
                ""
            ),
            ("no sender", try await system.webhook(["contenido": "x"]), 400, "remitente"),
            ("no content", try await system.webhook(["remitente": "5215550006666"]), 400, "contenido"),
            (
                "empty content", try await system.webhook(["remitente": "5215550006666", "contenido": "  "]), 400,
                "vacío"
            ),
            ("bad sender", try await system.webhook(["remitente": "<script>", "contenido": "x"]), 400, "remitente"),
            (
                "wrong type", try await system.webhook(["remitente": 5_215_550_006_666, "contenido": "x"]), 400,
                "remitente"
            ),
            (
                "oversized",
                try await system.webhook([
                    "remitente": "5215550006666", "contenido": String(repeating: "a", count: 1_100_000),
                ]),
                413, "1 MB"
            ),
        ]
        for (name, response, status, hint) in cases {
            #expect(response.status == status, "\(name): \(response.status) \(response.text)")
            let detail = try? response.json()["detail"] as? String
            #expect(detail != nil, "\(name) has no JSON detail: \(response.text)")
            #expect(hint.isEmpty || detail?.contains(hint) == true, "\(name): \(detail ?? "")")
        }

        let panelCases: [(String, HTTPResult, Int)] = [
            ("unknown ticket", try await system.post("/ticket/99999/enviar-mensaje", json: ["mensaje": "x"]), 404),
            ("non-numeric ticket", try await system.get("/ticket/abc/conversacion"), 404),
            ("empty message", try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": " "]), 400),
            (
                "too long",
                try await system.post(
                    "/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": String(repeating: "x", count: 4097)]),
                400
            ),
            ("missing field", try await system.post("/ticket/\(ticketID)/enviar-mensaje", json: ["texto": "x"]), 400),
            ("bad page", try await system.get("/tickets?page=0"), 400),
            ("bad status", try await system.get("/tickets?estado=perdido"), 400),
            ("bad category", try await system.get("/tickets?categoria=Firmware"), 400),
            ("unknown route", try await system.get("/no/existe"), 404),
        ]
        for (name, response, status) in panelCases {
            #expect(response.status == status, "\(name): \(response.status) \(response.text)")
            #expect((try? response.json()["detail"] as? String) != nil, "\(name): \(response.text)")
        }

        // Nothing stored changed: one ticket, one message, the original text.
        let list = try #require(try JSONSerialization.jsonObject(with: try await system.get("/tickets").body) as? [Any])
        #expect(list.count == 1)
        let history = try await system.history(ticketID)
        #expect(history.count == 1)
        #expect(history.first?["content"] as? String == "original")
    }

    @Test func panelRoutesRequireAValidSessionToken() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let routes: [(String, String)] = [
            ("GET", "/tickets"), ("GET", "/ticket/1/conversacion"), ("POST", "/ticket/1/enviar-mensaje"),
            ("POST", "/ticket/1/notificar"), ("POST", "/api/auth/logout/"),
        ]
        for (method, path) in routes {
            for header in [nil, "Token nope", "Bearer nope", "Basic YWRtaW46eA=="] {
                let response = try await HTTP.request(
                    method, "\(system.baseURL)\(path)", headers: header.map { ["Authorization": $0] } ?? [:],
                    body: method == "POST" ? Data("{}".utf8) : nil)
                #expect(response.status == 401, "\(method) \(path) with \(header ?? "no header"): \(response.status)")
            }
        }
        // Both header styles of seed 002 work, and logout ends the session.
        let token = try await system.adminToken()
        for header in ["Token \(token)", "Bearer \(token)"] {
            #expect(try await HTTP.get("\(system.baseURL)/tickets", headers: ["Authorization": header]).status == 200)
        }
        let logout = try await HTTP.post(
            "\(system.baseURL)/api/auth/logout/", json: [:] as [String: String],
            headers: ["Authorization": "Token \(token)"])
        #expect(logout.status == 200)
        #expect(try logout.json()["message"] as? String == "Successfully logged out")
        #expect(
            try await HTTP.get("\(system.baseURL)/tickets", headers: ["Authorization": "Token \(token)"]).status == 401)

        let wrong = try await HTTP.post(
            "\(system.baseURL)/api/auth/login/", json: ["username": "admin", "password": "wrong-password"])
        #expect(wrong.status == 401)
        let login = try await HTTP.post(
            "\(system.baseURL)/api/auth/login/",
            json: ["username": MostradorSystem.adminUser, "password": MostradorSystem.adminPassword])
        let body = try login.json()
        #expect((body["user"] as? [String: Any])?["username"] as? String == "admin")
        #expect((body["agent"] as? [String: Any])?["is_available"] as? Bool == true)
    }
}
