import Foundation
import TestSupport
import Testing

@testable import MostradorAPI

/// The WebSocket of seed 003 in process: the api listens on a local port (`transport: .live`) and its live
/// announcements reach its own hub, as the broker's fan-out does. WhatsApp delivery status and two instances
/// sharing events need the real services: `ChatTests.WebSocketTests`.
@Suite("Real-time chat over WebSocket, in process")
struct WebSocketTests {
    static func token(_ header: String) -> String { String(header.split(separator: " ").last ?? "") }

    typealias Frame = Answer.Frame

    @Test func everyEventKindOfTheSeed() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("mi laptop no carga")
            let agent = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: Self.token(admin)))
            defer { agent.close() }

            // connection_established with the recent history and the participants.
            let established = try #require(await agent.wait(for: "connection_established", as: Frame.Established.self))
            let guest = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: Self.token(chat.authorization)))
            defer { guest.close() }
            #expect(established.historialReciente.first?.contenido == "mi laptop no carga")
            #expect(established.usuario.tipo == "AGENTE")
            let guestHello = try #require(await guest.wait(for: "connection_established", as: Frame.Established.self))
            #expect(guestHello.participantes.count == 2)

            // mensaje → mensaje_confirmado (client_id → mensaje_id) and mensaje_recibido for everyone.
            agent.send(
                "mensaje",
                ["mensaje": "Hola, soy el técnico", "client_id": "panel-1", "timestamp": "2026-11-21T10:00:00Z"])
            let confirmed = try #require(await agent.wait(for: "mensaje_confirmado", as: Frame.Confirmed.self))
            #expect(confirmed.clientID == "panel-1")
            let messageID = confirmed.mensajeID
            let seen = try #require(
                await guest.wait(for: "mensaje_recibido", as: Answer.LiveMessage.self) { $0.id == messageID })
            #expect(seen.autor.tipo == "AGENTE")
            #expect(seen.contenido == "Hola, soy el técnico")
            #expect(
                await agent.wait(for: "mensaje_recibido", as: Answer.LiveMessage.self) { $0.id == messageID } != nil)

            // A resent client_id is not stored twice.
            agent.send("mensaje", ["mensaje": "Hola, soy el técnico", "client_id": "panel-1"])
            #expect(
                await agent.wait(for: "mensaje_confirmado", as: Frame.Confirmed.self) { $0.duplicado }?.mensajeID
                    == messageID)
            let history = try await api.call(
                .get, "/api/soporte/tickets/\(chat.room)/chat/historial/?page=1&size=50", authorization: admin
            ).decode(Answer.HistoryPage.self)
            #expect(history.mensajes.filter { $0.clientID == "panel-1" }.count == 1)

            // The guest writes too; typing indicators reach the others only.
            guest.send("typing_start")
            #expect(await agent.wait(for: "usuario_escribiendo") != nil)
            guest.send("typing_stop")
            #expect(await agent.wait(for: "usuario_dejo_escribir") != nil)
            #expect(guest.frames("usuario_escribiendo").isEmpty)
            guest.send("mensaje", ["mensaje": "gracias", "client_id": "guest-1"])
            #expect(
                await agent.wait(for: "mensaje_recibido", as: Answer.LiveMessage.self) { $0.contenido == "gracias" }
                    != nil)

            // heartbeat; malformed and unknown frames get error frames and the connection stays usable.
            func refused(_ code: String) async -> Bool {
                await agent.wait(for: "error", as: Frame.Failure.self) { $0.codigo == code } != nil
            }
            agent.send("heartbeat", ["timestamp": "2026-11-21T10:00:00Z"])
            #expect(await agent.wait(for: "heartbeat") != nil)
            agent.sendRaw("esto no es json")
            #expect(await refused("json_invalido"))
            agent.send("borrar_todo")
            #expect(await refused("tipo_desconocido"))
            agent.send("mensaje", ["mensaje": "", "client_id": "x"])
            #expect(await refused("mensaje_invalido"))
            agent.send("heartbeat")
            #expect(await eventually { agent.frames("heartbeat").count == 2 })

            // file_upload_request → file_upload_authorized → upload → file_uploaded.
            agent.send(
                "file_upload_request",
                ["nombre_archivo": "huge.pdf", "tamaño": 50 << 20, "tipo_mime": "application/pdf"])
            #expect(await refused("archivo_muy_grande"))
            agent.send("file_upload_request", ["nombre_archivo": "foto.png", "tamaño": 700, "tipo_mime": "image/png"])
            let grant = try #require(await agent.wait(for: "file_upload_authorized", as: Frame.UploadGrant.self))
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 3, count: 600)
            var body = Data(
                "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"foto.png\"\r\nContent-Type: image/png\r\n\r\n"
                    .utf8)
            body.append(Data(png))
            body.append(Data("\r\n--B--\r\n".utf8))
            let uploaded = try await api.call(
                .post, grant.uploadURL, body: body, contentType: "multipart/form-data; boundary=B")
            #expect(uploaded.status == 201, "\(uploaded.text)")
            #expect(
                try await api.call(.post, grant.uploadURL, body: body, contentType: "multipart/form-data; boundary=B")
                    .status == 401)
            #expect(await guest.wait(for: "file_uploaded") != nil)

            // agente_joined (the agent took the chat by writing), then a transfer: agente_left and chat_transferred.
            #expect(await guest.wait(for: "agente_joined") != nil)
            let ana = try await api.call(
                .post, "/api/agents/", authorization: admin,
                json: ["username": "ana", "password": "password123", "first_name": "Ana"]
            ).decode(Answer.Agent.self)
            _ = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/transfer/", authorization: admin, json: ["agent_id": ana.id])
            #expect(await guest.wait(for: "agente_left") != nil)
            #expect(
                await guest.wait(for: "chat_transferred", as: Frame.About.self) { $0.usuario?.nombre == "Ana" } != nil)
        }
    }

    @Test func reconnectingAndSyncingOfflineMessagesStoresEachOnce() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let chat = try await api.guestChat("primero")
            let token = Self.token(chat.authorization)
            var client = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: token))
            #expect(await client.wait(for: "connection_established") != nil)
            client.close()

            let offline: [[String: Any]] = (1...3).map {
                ["client_id": "offline-\($0)", "contenido": "sin red \($0)", "timestamp": "2026-11-21T10:0\($0):00Z"]
            }
            let first = try await api.call(
                .post, "/api/soporte/tickets/\(chat.room)/chat/sync/", authorization: chat.authorization,
                json: ["messages": offline])
            #expect(first.status == 200)
            #expect(try first.decode(Answer.Synced.self).sincronizados.allSatisfy { !$0.duplicado })
            // The client did not see the answer and syncs again.
            let again = try await api.call(
                .post, "/api/soporte/tickets/\(chat.room)/chat/sync/", authorization: chat.authorization,
                json: ["messages": offline])
            #expect(try again.decode(Answer.Synced.self).sincronizados.allSatisfy { $0.duplicado })

            client = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: token))
            defer { client.close() }
            let established = try #require(await client.wait(for: "connection_established", as: Frame.Established.self))
            #expect(
                established.historialReciente.map(\.contenido) == ["primero", "sin red 1", "sin red 2", "sin red 3"])

            // Pages of the history and the stats agree.
            let page = try await api.call(
                .get, "/api/soporte/tickets/\(chat.room)/chat/historial/?page=1&size=2",
                authorization: chat.authorization
            ).decode(Answer.HistoryPage.self)
            #expect(page.total == 4 && page.totalPages == 2)
            #expect(page.mensajes.map(\.contenido) == ["sin red 2", "sin red 3"])
            let stats = try await api.call(
                .get, "/api/soporte/tickets/\(chat.room)/chat/stats/", authorization: chat.authorization
            ).decode(Answer.Stats.self)
            #expect(stats.totalMensajes == 4)
            // Marking read through mark-read/.
            let marked = try await api.call(
                .post, "/api/soporte/tickets/\(chat.room)/chat/mark-read/", authorization: try await api.admin(),
                json: ["message_ids": page.mensajes.map(\.id)])
            #expect(try marked.decode(Answer.Marked.self).marcados == 2)
        }
    }

    /// Refused upgrades over a real socket (the policy itself, caller by caller: `AuthorizationMatrixTests`).
    @Test func badTokensAndOtherRoomsAreRefused() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let mine = try await api.guestChat(email: "uno@x.com")
            let other = try await api.guestChat(email: "dos@x.com")
            for url in [
                try api.webSocketURL(ticket: mine.room, token: "nope"),
                try api.webSocketURL(ticket: other.room, token: Self.token(mine.authorization)),
            ] {
                let client = LiveClient(url: url)
                try await Task.sleep(for: .milliseconds(500))
                #expect(client.received.isEmpty)
                #expect(!client.isConnected)
                client.close()
            }
        }
    }
}
