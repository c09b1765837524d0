import Foundation
import MostradorContracts
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// The Cloud API's 24-hour customer-service window and the approved templates that reach a customer after it.
@Suite struct WhatsAppTemplateTests {
    /// A Cloud API customer's ticket (`inbound/text.pywa.json`).
    static func cloudTicket(_ api: APITestSystem) async throws -> Int64 {
        #expect(
            try await CloudWebhookTests.post(api, try CloudWebhookTests.fixture("inbound/text.pywa.json")).status == 200
        )
        return try #require(
            try await api.pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM tickets") })
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    static func register(
        _ api: APITestSystem, _ admin: String, name: String = "equipo_listo",
        body: String = "Hola {{1}}, su equipo {{2}} está listo para recoger.", status: String? = "approved"
    ) async throws -> APITestSystem.Reply {
        var json: [String: Any] = ["nombre": name, "idioma": "es_MX", "cuerpo": body, "categoria": "utility"]
        if let status { json["estado"] = status }
        return try await api.call(.post, "/api/templates", authorization: admin, json: json)
    }

    @Test func theCatalogueChecksMetasRulesAndKeepsTheApprovalState() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let created = try await Self.register(api, admin, status: nil)
            #expect(created.status == 201, Comment(rawValue: created.text))
            let template = try created.json()
            #expect(template["estado"] as? String == "pending")
            #expect(template["parametros"] as? Int == 2)
            #expect(template["categoria"] as? String == "UTILITY")
            #expect(try await Self.register(api, admin).status == 409)
            for (name, body) in [
                ("Con Mayusculas", "Hola"), ("con espacio", "Hola"), ("salto", "Hola {{1}} y {{3}}"),
                ("vacio", "   "), ("larguisimo", String(repeating: "a", count: 1025)),
            ] {
                let refused = try await Self.register(api, admin, name: name, body: body)
                #expect(refused.status == 400, Comment(rawValue: "\(name): \(refused.text)"))
            }
            let bad = try await api.call(
                .post, "/api/templates", authorization: admin,
                json: ["nombre": "x", "idioma": "español", "cuerpo": "Hola"])
            #expect(bad.status == 400)
            let id = try #require(template["id"] as? Int)
            let approved = try await api.call(
                .patch, "/api/templates/\(id)", authorization: admin, json: ["estado": "approved"])
            #expect(try approved.json()["estado"] as? String == "approved")
            // Meta reviews every edit: an edited WhatsApp template is pending again.
            let edited = try await api.call(
                .put, "/api/templates/\(id)", authorization: admin,
                json: ["nombre": "equipo_listo", "idioma": "es_MX", "cuerpo": "Hola {{1}}, ya puede recoger su {{2}}."])
            #expect(try edited.json()["estado"] as? String == "pending")
            _ = try await api.call(.patch, "/api/templates/\(id)", authorization: admin, json: ["estado": "approved"])
            #expect(
                try await api.call(.patch, "/api/templates/\(id)", authorization: admin, json: ["estado": "sí"]).status
                    == 400)
            #expect(
                try await api.call(.patch, "/api/templates/99999", authorization: admin, json: ["estado": "paused"])
                    .status == 404)
            let listed = try await api.call(.get, "/api/templates?tipo=whatsapp", authorization: admin).list()
            #expect(listed.map { $0["nombre"] as? String } == ["equipo_listo"])
            #expect(listed.first?["tipo"] as? String == "whatsapp")
        }
    }

    @Test func theWindowIsShownAndATemplateGoesOutWithItsParameters() async throws {
        try await CloudWebhookTests.with { api in
            let admin = try await api.admin()
            let ticket = try await Self.cloudTicket(api)
            var conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()
            var window = try #require(conversation["ventana_whatsapp"] as? [String: Any])
            #expect(window["aplica"] as? Bool == true)
            #expect(window["abierta"] as? Bool == true)
            let closes = try #require((window["cierra"] as? String).flatMap(Self.date))
            #expect(abs(closes.timeIntervalSinceNow - 24 * 3600) < 120)

            // 25 hours later, the window is closed.
            try await api.pool.write { db in
                try db.execute(
                    sql: "UPDATE messages SET created_at = ? WHERE role = 'user'",
                    arguments: [Date().addingTimeInterval(-25 * 3600)])
            }
            conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()
            window = try #require(conversation["ventana_whatsapp"] as? [String: Any])
            #expect(window["abierta"] as? Bool == false)

            // A template Meta has not approved is refused; wrong parameters too; nothing goes out.
            let pending = try await Self.register(api, admin, name: "en_revision", status: "pending").json()
            let sends = try await api.relaySends().count
            let refused = try await api.call(
                .post, "/ticket/\(ticket)/enviar-plantilla", authorization: admin,
                json: ["plantilla_id": pending["id"] as Any, "parametros": ["Ana", "laptop"]])
            #expect(refused.status == 409)
            let approved = try await Self.register(api, admin).json()
            for parameters in [["Ana"], ["Ana", "laptop", "extra"], ["Ana", "dos\nlíneas"], ["Ana", "  "]] {
                let wrong = try await api.call(
                    .post, "/ticket/\(ticket)/enviar-plantilla", authorization: admin,
                    json: ["plantilla_id": approved["id"] as Any, "parametros": parameters])
                #expect(wrong.status == 400, Comment(rawValue: "\(parameters): \(wrong.text)"))
            }
            #expect(try await api.relaySends().count == sends)

            let sent = try await api.call(
                .post, "/ticket/\(ticket)/enviar-plantilla", authorization: admin,
                json: ["plantilla_id": approved["id"] as Any, "parametros": ["Ana", "Dell Latitude"]])
            #expect([200, 504].contains(sent.status), Comment(rawValue: sent.text))
            let command = try #require(try await api.relaySends().last)
            #expect(command.channel == "cloud")
            #expect(
                command.template
                    == RelayTemplate(name: "equipo_listo", language: "es_MX", parameters: ["Ana", "Dell Latitude"]))
            #expect(command.text == "Hola Ana, su equipo Dell Latitude está listo para recoger.")
            let history = try #require(conversation["historial"] as? [[String: Any]])
            #expect(!history.isEmpty)
            let shown = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()
            let last = try #require((shown["historial"] as? [[String: Any]])?.last)
            #expect(last["content"] as? String == "Hola Ana, su equipo Dell Latitude está listo para recoger.")
            #expect(last["role"] as? String == "tecnico")
        }
    }

    @Test func otherChannelsHaveNoWindow() async throws {
        try await APITestSystem.with { api in
            let ticket = try await api.whatsapp("5215550001111", "Hola")
            let conversation = try await api.call(
                .get, "/ticket/\(ticket)/conversacion", authorization: try await api.admin()
            ).json()
            let window = try #require(conversation["ventana_whatsapp"] as? [String: Any])
            #expect(window["aplica"] as? Bool == false)
            #expect(window["abierta"] as? Bool == true)
            let chat = try await api.guestChat()
            let web = try await api.call(
                .get, "/ticket/\(chat.ticket)/conversacion", authorization: try await api.admin()
            ).json()
            #expect(web["ventana_whatsapp"] == nil)
        }
    }

    /// Ready-made messages live in the api too: seeded from the templates file on the first start, edited by admins,
    /// used by "Notificar" in the ticket's language.
    @Test func readyMadeMessagesAreEditedByAdminsAndUsedByNotificar() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let seeded = try await api.call(.get, "/api/templates?tipo=mensaje", authorization: admin).list()
            #expect(seeded.contains { $0["nombre"] as? String == "equipo listo" && $0["idioma"] as? String == "es" })
            #expect(seeded.allSatisfy { $0["estado"] as? String == "approved" && $0["tipo"] as? String == "mensaje" })

            let created = try await api.call(
                .post, "/api/templates", authorization: admin,
                json: [
                    "tipo": "mensaje", "nombre": "Garantía",
                    "cuerpo": "Hola {nombre}, tu ticket #{ticket} tiene garantía.",
                ])
            #expect(created.status == 201, Comment(rawValue: created.text))
            let id = try #require(try created.json()["id"] as? Int)
            #expect(
                try await api.call(
                    .post, "/api/templates", authorization: admin,
                    json: ["tipo": "mensaje", "nombre": "Mala", "cuerpo": "Hola {cliente}"]
                ).status == 400)
            let other = try await api.agent("tecnico1")
            #expect(
                try await api.call(
                    .put, "/api/templates/\(id)", authorization: other.authorization,
                    json: ["nombre": "x", "cuerpo": "y"]
                ).status == 403)
            let edited = try await api.call(
                .put, "/api/templates/\(id)", authorization: admin,
                json: [
                    "nombre": "Garantía", "idioma": "es",
                    "cuerpo": "Hola {nombre}, el ticket #{ticket} sigue en garantía.",
                ])
            #expect(edited.status == 200, Comment(rawValue: edited.text))

            let ticket = try await api.whatsapp("5215550004444", "Hola", name: "Rosa")
            let sent = try await api.call(
                .post, "/ticket/\(ticket)/notificar", authorization: admin, json: ["plantilla": "garantía"])
            #expect([200, 504].contains(sent.status), Comment(rawValue: sent.text))
            #expect(try await api.relaySends().last?.text == "Hola Rosa, el ticket #\(ticket) sigue en garantía.")

            #expect(try await api.call(.delete, "/api/templates/\(id)", authorization: admin).status == 204)
            let gone = try await api.call(
                .post, "/ticket/\(ticket)/notificar", authorization: admin, json: ["plantilla": "garantía"])
            #expect(gone.status == 400)
            #expect((try gone.json()["plantillas"] as? [String])?.contains("equipo listo") == true)
            #expect(try await api.call(.delete, "/api/templates/\(id)", authorization: admin).status == 404)
        }
    }
}
