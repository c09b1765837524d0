import Foundation
import TestSupport
import Testing

/// A private note through the running system (api, relay, notifier, the broker, a fake WhatsApp bridge): nothing
/// that reaches a customer carries it — not the relay's calls to WhatsApp, not the notifier's notices, not the web
/// visitor's WebSocket or REST — while the messages written around it do arrive.
@Suite("Private notes end to end", .serialized)
struct PrivateNotesFlowTests {
    @Test func aNoteNeverLeavesThroughTheRelayTheNotifierOrTheVisitorsChannels() async throws {
        try await MostradorSystem.with(notifier: true) { system in
            let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
            let secret = "NOTA-PRIVADA-\(UUID().uuidString.prefix(8))"

            // WhatsApp: a note, then a message; the bridge gets the message and never the note.
            let ticketID = try await system.receive([
                "remitente": "5215557770101", "contenido": "mi pc no arranca", "nombre": "Rosa",
            ])
            let note = try await system.call(
                "POST", "/api/tickets/\(ticketID)/notes", authorization: admin,
                json: ["content": "\(secret) ya tuvo dos garantías"])
            #expect(note.status == 201, Comment(rawValue: note.text))
            let sent = try await system.call(
                "POST", "/ticket/\(ticketID)/enviar-mensaje", authorization: admin,
                json: ["mensaje": "Hola Rosa, revisamos su equipo"])
            #expect(sent.status == 200, Comment(rawValue: sent.text))
            #expect(
                await eventually(timeout: .seconds(15)) {
                    system.bridge.deliveredTexts.contains("Hola Rosa, revisamos su equipo")
                })

            // Web: the visitor's socket and REST get the message written after the note, never the note.
            let chat = try await system.guestChat("no puedo imprimir")
            let roomToken = String(chat.authorization.split(separator: " ").last ?? "")
            let guest = LiveClient(url: system.webSocketURL(ticket: chat.room, token: roomToken))
            defer { guest.close() }
            #expect(await guest.wait(for: "connection_established") != nil)
            let room = try await system.call("GET", "/api/chatrooms/\(chat.room)/", authorization: admin).json()
            let webTicket = try #require(room["ticket_id"] as? Int)
            let webNote = try await system.call(
                "POST", "/api/tickets/\(webTicket)/notes", authorization: admin, json: ["content": secret])
            #expect(webNote.status == 201, Comment(rawValue: webNote.text))
            let answer = try await system.call(
                "POST", "/api/chatrooms/\(chat.room)/send_message/", authorization: admin,
                json: ["content": "Hola, ¿qué impresora es?"])
            #expect(answer.status == 201, Comment(rawValue: answer.text))
            #expect(
                await guest.wait(for: "mensaje_recibido", timeout: .seconds(15)) {
                    $0["contenido"] as? String == "Hola, ¿qué impresora es?"
                } != nil)
            // The notifier's notice of that message reaches the visitor: everything the notifier made is in.
            func visitorNotices() async throws -> String {
                try await system.call(
                    "GET", "/api/user-notifications/get_notifications/?chat_room_id=\(chat.room)",
                    authorization: chat.authorization
                ).text
            }
            #expect(
                await eventually(timeout: .seconds(15)) {
                    (try? await visitorNotices().contains("new_message")) == true
                })
            let history = try await system.call(
                "GET", "/api/chatrooms/\(chat.room)/messages/", authorization: chat.authorization)
            #expect(history.text.contains("¿qué impresora es?"))

            // Nowhere a customer reads, the note appears.
            #expect(!guest.received.contains { $0.text.contains(secret) })
            #expect(!history.text.contains(secret))
            #expect(!(try await visitorNotices()).contains(secret))
            #expect(!system.bridge.requests.contains { $0.body.values.contains { $0.contains(secret) } })
            // The agents' own notices (from the notifier) carry no note text either: notes make no event.
            let agentNotices = try await system.call("GET", "/api/notifications/", authorization: admin)
            #expect(agentNotices.status == 200)
            #expect(!agentNotices.text.contains(secret))
            // Agents still read both notes.
            let conversation = try await system.call("GET", "/ticket/\(ticketID)/conversacion", authorization: admin)
            #expect(conversation.text.contains(secret))
        }
    }
}
