import Foundation
import HTTPTypes
import Testing

@testable import MostradorAPI

/// Hostile, malformed, oversized and unauthenticated requests get a clear 4xx and change nothing stored.
@Suite("Bad input is refused and nothing stored is lost")
struct BadInputTests {
    @Test func everyKindOfBadRequestIsRefusedWithAReasonAndNothingChanges() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            let bridge = "Bearer \(APITestSystem.webhookToken)"
            func webhook(_ body: [String: Any], authorization: String? = bridge) async throws -> APITestSystem.Reply {
                try await api.call(.post, "/webhook", authorization: authorization, json: body)
            }
            func webhook(raw: String) async throws -> APITestSystem.Reply {
                try await api.call(.post, "/webhook", authorization: bridge, body: Data(raw.utf8))
            }
            let first = try await webhook(["remitente": "5215550006666", "contenido": "original", "id_mensaje": "W1"])
            let ticketID = try first.decode(Answer.Received.self).ticketID

            // The same bridge message id again: stored once.
            let repeated = try await webhook([
                "remitente": "5215550006666", "contenido": "original", "id_mensaje": "W1",
            ])
            #expect(repeated.status == 200)
            let again = try repeated.decode(Answer.Received.self)
            #expect(again.ticketID == ticketID)
            #expect(again.duplicado == true)

            let cases: [(String, APITestSystem.Reply, Int, String)] = [
                (
                    "bad token",
                    try await webhook(["remitente": "1", "contenido": "x"], authorization: "Bearer wrong"), 401, "Token"
                ),
                (
                    "no token",
                    try await webhook(["remitente": "5215550006666", "contenido": "x"], authorization: nil), 401,
                    "Token"
                ),
                ("malformed", try await webhook(raw: "{\"remitente\":"), 400, "JSON"),
                ("not an object", try await webhook(raw: "[1,2]"), 400, ""),
                ("no sender", try await webhook(["contenido": "x"]), 400, "remitente"),
                ("no content", try await webhook(["remitente": "5215550006666"]), 400, "contenido"),
                ("empty content", try await webhook(["remitente": "5215550006666", "contenido": "  "]), 400, "vacío"),
                ("bad sender", try await webhook(["remitente": "<script>", "contenido": "x"]), 400, "remitente"),
                (
                    "wrong type", try await webhook(["remitente": 5_215_550_006_666, "contenido": "x"]), 400,
                    "remitente"
                ),
                (
                    "oversized",
                    try await webhook([
                        "remitente": "5215550006666", "contenido": String(repeating: "a", count: 1_100_000),
                    ]),
                    413, "1 MB"
                ),
            ]
            for (name, response, status, hint) in cases {
                #expect(response.status == status, "\(name): \(response.status) \(response.text)")
                let detail = response.failure?.detail
                #expect(detail != nil, "\(name) has no JSON detail: \(response.text)")
                #expect(hint.isEmpty || detail?.contains(hint) == true, "\(name): \(detail ?? "")")
            }

            let admin = try await api.admin()
            func get(_ path: String) async throws -> APITestSystem.Reply {
                try await api.call(.get, path, authorization: admin)
            }
            func send(_ ticket: String, _ body: [String: Any]) async throws -> APITestSystem.Reply {
                try await api.call(.post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin, json: body)
            }
            let panelCases: [(String, APITestSystem.Reply, Int)] = [
                ("unknown ticket", try await send("99999", ["mensaje": "x"]), 404),
                ("non-numeric ticket", try await get("/ticket/abc/conversacion"), 404),
                ("empty message", try await send("\(ticketID)", ["mensaje": " "]), 400),
                ("too long", try await send("\(ticketID)", ["mensaje": String(repeating: "x", count: 4097)]), 400),
                ("missing field", try await send("\(ticketID)", ["texto": "x"]), 400),
                ("bad page", try await get("/tickets?page=0"), 400),
                ("bad status", try await get("/tickets?estado=perdido"), 400),
                ("bad category", try await get("/tickets?categoria=Firmware"), 400),
                ("unknown route", try await get("/no/existe"), 404),
            ]
            for (name, response, status) in panelCases {
                #expect(response.status == status, "\(name): \(response.status) \(response.text)")
                #expect(response.failure?.detail != nil, "\(name): \(response.text)")
            }

            // Nothing stored changed: one ticket, one message, the original text.
            #expect(try await get("/tickets").decode([Answer.Ticket].self).count == 1)
            let history = try await get("/ticket/\(ticketID)/conversacion").decode(Answer.Conversation.self).historial
            #expect(history.count == 1)
            #expect(history.first?.content == "original")
        }
    }

    @Test func panelRoutesRequireAValidSessionToken() async throws {
        try await APITestSystem.with { api in
            let routes: [(HTTPRequest.Method, String)] = [
                (.get, "/tickets"), (.get, "/ticket/1/conversacion"), (.post, "/ticket/1/enviar-mensaje"),
                (.post, "/ticket/1/notificar"), (.post, "/api/auth/logout/"),
            ]
            for (method, path) in routes {
                for header in [nil, "Token nope", "Bearer nope", "Basic YWRtaW46eA=="] {
                    let response = try await api.call(
                        method, path, authorization: header, body: method == .post ? Data("{}".utf8) : nil)
                    #expect(
                        response.status == 401, "\(method) \(path) with \(header ?? "no header"): \(response.status)")
                }
            }
            // Both header styles of seed 002 work, and logout ends the session.
            let token = try await api.call(
                .post, "/api/auth/login/",
                json: ["username": APITestSystem.adminUser, "password": APITestSystem.adminPassword]
            ).decode(Answer.Login.self).token
            for header in ["Token \(token)", "Bearer \(token)"] {
                #expect(try await api.call(.get, "/tickets", authorization: header).status == 200)
            }
            let logout = try await api.call(
                .post, "/api/auth/logout/", authorization: "Token \(token)", json: [:] as [String: String])
            #expect(logout.status == 200)
            #expect(try logout.decode(Answer.Done.self).message == "Successfully logged out")
            #expect(try await api.call(.get, "/tickets", authorization: "Token \(token)").status == 401)

            let wrong = try await api.call(
                .post, "/api/auth/login/", json: ["username": "admin", "password": "wrong-password"])
            #expect(wrong.status == 401)
            let login = try await api.call(
                .post, "/api/auth/login/",
                json: ["username": APITestSystem.adminUser, "password": APITestSystem.adminPassword]
            ).decode(Answer.Login.self)
            #expect(login.user.value.username == "admin")
            #expect(login.agent.isAvailable)
        }
    }
}
