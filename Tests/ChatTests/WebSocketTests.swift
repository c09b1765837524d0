import Foundation
import TestSupport
import Testing

/// The WebSocket of seed 003 through the real api (and relay, broker, bridge).
@Suite("Real-time chat over WebSocket", .serialized)
struct WebSocketTests {
    static func token(_ header: String) -> String { String(header.split(separator: " ").last ?? "") }

    @Test func everyEventKindOfTheSeed() async throws {
        let system = try await MostradorSystem()
        defer { Task { await system.stop() } }
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        let chat = try await system.guestChat("mi laptop no carga")
        let agent = LiveClient(url: system.webSocketURL(ticket: chat.room, token: Self.token(admin)))
        defer { agent.close() }

        // connection_established with the recent history and the participants.
        let established = try #require(await agent.wait(for: "connection_established"))
        let guest = LiveClient(url: system.webSocketURL(ticket: chat.room, token: Self.token(chat.authorization)))
        defer { guest.close() }
        #expect(
            (established.data["historial_reciente"] as? [[String: Any]])?.first?["contenido"] as? String
                == "mi laptop no carga")
        #expect((established.data["usuario"] as? [String: Any])?["tipo"] as? String == "AGENTE")
        let guestHello = try #require(await guest.wait(for: "connection_established"))
        #expect((guestHello.data["participantes"] as? [Any])?.count == 2)

        // mensaje → mensaje_confirmado (client_id → mensaje_id) and mensaje_recibido for everyone.
        agent.send(
            "mensaje", ["mensaje": "Hola, soy el técnico", "client_id": "panel-1", "timestamp": "2026-11-21T10:00:00Z"])
        let confirmed = try #require(await agent.wait(for: "mensaje_confirmado"))
        #expect(confirmed.data["client_id"] as? String == "panel-1")
        let messageID = try #require(confirmed.data["mensaje_id"] as? Int)
        let seen = try #require(await guest.wait(for: "mensaje_recibido") { $0["id"] as? Int == messageID })
        #expect((seen.data["autor"] as? [String: Any])?["tipo"] as? String == "AGENTE")
        #expect(seen.data["contenido"] as? String == "Hola, soy el técnico")
        #expect(await agent.wait(for: "mensaje_recibido") { $0["id"] as? Int == messageID } != nil)

        // A resent client_id is not stored twice.
        agent.send("mensaje", ["mensaje": "Hola, soy el técnico", "client_id": "panel-1"])
        #expect(
            await agent.wait(for: "mensaje_confirmado") { $0["duplicado"] as? Bool == true }?.data["mensaje_id"] as? Int
                == messageID)
        let history = try await system.call(
            "GET", "/api/soporte/tickets/\(chat.room)/chat/historial/?page=1&size=50", authorization: admin
        ).json()
        #expect(
            (history["mensajes"] as? [[String: Any]])?.filter { $0["client_id"] as? String == "panel-1" }.count == 1)

        // The guest writes too; typing indicators reach the others only.
        guest.send("typing_start")
        #expect(await agent.wait(for: "usuario_escribiendo") != nil)
        guest.send("typing_stop")
        #expect(await agent.wait(for: "usuario_dejo_escribir") != nil)
        #expect(guest.frames("usuario_escribiendo").isEmpty)
        guest.send("mensaje", ["mensaje": "gracias", "client_id": "guest-1"])
        #expect(await agent.wait(for: "mensaje_recibido") { $0["contenido"] as? String == "gracias" } != nil)

        // heartbeat; malformed and unknown frames get error frames and the connection stays usable.
        agent.send("heartbeat", ["timestamp": "2026-11-21T10:00:00Z"])
        #expect(await agent.wait(for: "heartbeat") != nil)
        agent.sendRaw("esto no es json")
        #expect(await agent.wait(for: "error") { $0["codigo"] as? String == "json_invalido" } != nil)
        agent.send("borrar_todo")
        #expect(await agent.wait(for: "error") { $0["codigo"] as? String == "tipo_desconocido" } != nil)
        agent.send("mensaje", ["mensaje": "", "client_id": "x"])
        #expect(await agent.wait(for: "error") { $0["codigo"] as? String == "mensaje_invalido" } != nil)
        agent.send("heartbeat")
        #expect(await eventually { agent.frames("heartbeat").count == 2 })

        // file_upload_request → file_upload_authorized → upload → file_uploaded.
        agent.send(
            "file_upload_request", ["nombre_archivo": "huge.pdf", "tamaño": 50 << 20, "tipo_mime": "application/pdf"])
        #expect(await agent.wait(for: "error") { $0["codigo"] as? String == "archivo_muy_grande" } != nil)
        agent.send("file_upload_request", ["nombre_archivo": "foto.png", "tamaño": 700, "tipo_mime": "image/png"])
        let grant = try #require(await agent.wait(for: "file_upload_authorized"))
        let url = try #require(grant.data["upload_url"] as? String)
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 3, count: 600)
        var body = Data(
            "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"foto.png\"\r\nContent-Type: image/png\r\n\r\n"
                .utf8)
        body.append(Data(png))
        body.append(Data("\r\n--B--\r\n".utf8))
        let uploaded = try await HTTP.request(
            "POST", system.baseURL + url, headers: ["Content-Type": "multipart/form-data; boundary=B"], body: body)
        #expect(uploaded.status == 201, "\(uploaded.text)")
        #expect(
            try await HTTP.request(
                "POST", system.baseURL + url, headers: ["Content-Type": "multipart/form-data; boundary=B"], body: body
            ).status == 401)
        #expect(await guest.wait(for: "file_uploaded") != nil)

        // agente_joined (the agent took the chat by writing), then a transfer: agente_left and chat_transferred.
        #expect(await guest.wait(for: "agente_joined") != nil)
        _ = try await system.call(
            "POST", "/api/agents/", authorization: admin,
            json: ["username": "ana", "password": "password123", "first_name": "Ana"])
        let agents =
            try JSONSerialization.jsonObject(
                with: try await system.call("GET", "/api/agents/", authorization: admin).body) as? [[String: Any]] ?? []
        let ana = agents.first(where: { ($0["user"] as? [String: Any])?["username"] as? String == "ana" })
        _ = try await system.call(
            "POST", "/api/chatrooms/\(chat.room)/transfer/", authorization: admin,
            json: ["agent_id": ana?["id"] as? String ?? ""])
        #expect(await guest.wait(for: "agente_left") != nil)
        #expect(
            await guest.wait(for: "chat_transferred") {
                ($0["usuario"] as? [String: Any])?["nombre"] as? String == "Ana"
            } != nil)
    }

    @Test func whatsAppRepliesAndDeliveryStatusAppearLive() async throws {
        let system = try await MostradorSystem()
        defer { Task { await system.stop() } }
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        let ticket = try #require(
            try await system.webhook(["remitente": "5215556660001", "contenido": "hola", "nombre": "Luis"]).json()[
                "ticket_id"] as? Int)
        let panel = LiveClient(url: system.webSocketURL(ticket: String(ticket), token: Self.token(admin)))
        defer { panel.close() }
        #expect(await panel.wait(for: "connection_established") != nil)
        _ = try await system.webhook(["remitente": "5215556660001", "contenido": "¿siguen ahí?"])
        #expect(await panel.wait(for: "mensaje_recibido") { $0["contenido"] as? String == "¿siguen ahí?" } != nil)
        panel.send("mensaje", ["mensaje": "Sí, aquí estamos", "client_id": "p-1"])
        let id = try #require(await panel.wait(for: "mensaje_confirmado")?.data["mensaje_id"] as? Int)
        #expect(
            await panel.wait(for: "estado_entrega", timeout: .seconds(15)) {
                $0["mensaje_id"] as? Int == id && $0["estado_entrega"] as? String == "sent"
            } != nil)
        #expect(system.bridge.deliveredTexts.contains("Sí, aquí estamos"))
    }

    @Test func twoAPIInstancesShareLiveEvents() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let second = try await system.startSecondAPI()
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        let chat = try await system.guestChat()
        let onFirst = LiveClient(url: system.webSocketURL(ticket: chat.room, token: Self.token(chat.authorization)))
        let onSecond = LiveClient(url: system.webSocketURL(ticket: chat.room, token: Self.token(admin), on: second))
        defer { onFirst.close(); onSecond.close() }
        #expect(await onFirst.wait(for: "connection_established") != nil)
        #expect(await onSecond.wait(for: "connection_established") != nil)
        // Written through instance 2's socket, seen on instance 1's, and the other way round through REST.
        onSecond.send("mensaje", ["mensaje": "desde la instancia 2", "client_id": "i2"])
        #expect(
            await onFirst.wait(for: "mensaje_recibido") { $0["contenido"] as? String == "desde la instancia 2" } != nil)
        _ = try await system.call(
            "POST", "/api/chat/send_message/", authorization: chat.authorization,
            json: ["chat_room_id": chat.room, "content": "desde REST en la 1"])
        #expect(
            await onSecond.wait(for: "mensaje_recibido") { $0["contenido"] as? String == "desde REST en la 1" } != nil)
        onFirst.send("typing_start")
        #expect(await onSecond.wait(for: "usuario_escribiendo") != nil)
        // Nobody got anything twice.
        for client in [onFirst, onSecond] {
            let ids = client.frames("mensaje_recibido").compactMap { $0.data["id"] as? Int }
            #expect(ids.count == Set(ids).count)
        }
    }

    @Test func reconnectingAndSyncingOfflineMessagesStoresEachOnce() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let chat = try await system.guestChat("primero")
        let token = Self.token(chat.authorization)
        var client = LiveClient(url: system.webSocketURL(ticket: chat.room, token: token))
        #expect(await client.wait(for: "connection_established") != nil)
        client.close()

        let offline: [[String: Any]] = (1...3).map {
            ["client_id": "offline-\($0)", "contenido": "sin red \($0)", "timestamp": "2026-11-21T10:0\($0):00Z"]
        }
        let first = try await system.call(
            "POST", "/api/soporte/tickets/\(chat.room)/chat/sync/", authorization: chat.authorization,
            json: ["messages": offline])
        #expect(first.status == 200)
        #expect(
            (try first.json()["sincronizados"] as? [[String: Any]])?.allSatisfy { $0["duplicado"] as? Bool == false }
                == true)
        // The client did not see the answer and syncs again.
        let again = try await system.call(
            "POST", "/api/soporte/tickets/\(chat.room)/chat/sync/", authorization: chat.authorization,
            json: ["messages": offline])
        #expect(
            (try again.json()["sincronizados"] as? [[String: Any]])?.allSatisfy { $0["duplicado"] as? Bool == true }
                == true)

        client = LiveClient(url: system.webSocketURL(ticket: chat.room, token: token))
        defer { client.close() }
        let established = try #require(await client.wait(for: "connection_established"))
        let texts = (established.data["historial_reciente"] as? [[String: Any]] ?? []).compactMap {
            $0["contenido"] as? String
        }
        #expect(texts == ["primero", "sin red 1", "sin red 2", "sin red 3"])

        // Pages of the history and the stats agree.
        let page = try await system.call(
            "GET", "/api/soporte/tickets/\(chat.room)/chat/historial/?page=1&size=2", authorization: chat.authorization
        ).json()
        #expect(page["total"] as? Int == 4 && page["total_pages"] as? Int == 2)
        #expect(
            (page["mensajes"] as? [[String: Any]])?.compactMap { $0["contenido"] as? String } == [
                "sin red 2", "sin red 3",
            ])
        let stats = try await system.call(
            "GET", "/api/soporte/tickets/\(chat.room)/chat/stats/", authorization: chat.authorization
        ).json()
        #expect(stats["total_mensajes"] as? Int == 4)
        // Marking read through mark-read/.
        let ids = (page["mensajes"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
        let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
        let marked = try await system.call(
            "POST", "/api/soporte/tickets/\(chat.room)/chat/mark-read/", authorization: admin,
            json: ["message_ids": ids])
        #expect(try marked.json()["marcados"] as? Int == 2)
    }

    @Test func badTokensAndOtherRoomsAreRefused() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let mine = try await system.guestChat(email: "uno@x.com")
        let other = try await system.guestChat(email: "dos@x.com")
        for url in [
            system.webSocketURL(ticket: mine.room, token: "nope"),
            system.webSocketURL(ticket: other.room, token: Self.token(mine.authorization)),
        ] {
            let client = LiveClient(url: url)
            try await Task.sleep(for: .milliseconds(500))
            #expect(client.received.isEmpty)
            #expect(!client.isConnected)
            client.close()
        }
    }
}
