import Foundation
import TestSupport
import Testing

/// The WebSocket of seed 003 through the real api, relay, broker and bridge: what only the whole system shows
/// (every other event kind, reconnecting and refused upgrades are tested in process: `APITests.WebSocketTests`).
@Suite("Real-time chat over WebSocket, end to end", .serialized)
struct WebSocketTests {
    static func token(_ header: String) -> String { String(header.split(separator: " ").last ?? "") }

    struct Received: Decodable {
        let ticketID: Int
        enum CodingKeys: String, CodingKey { case ticketID = "ticket_id" }
    }

    /// `mensaje_recibido`.
    struct Message: Decodable {
        let id: Int
        let contenido: String
    }

    /// `mensaje_confirmado`.
    struct Confirmed: Decodable {
        let mensajeID: Int
        enum CodingKeys: String, CodingKey { case mensajeID = "mensaje_id" }
    }

    /// `estado_entrega`.
    struct Delivery: Decodable {
        let mensajeID: Int
        let estadoEntrega: String?
        enum CodingKeys: String, CodingKey {
            case mensajeID = "mensaje_id"
            case estadoEntrega = "estado_entrega"
        }
    }

    @Test func whatsAppRepliesAndDeliveryStatusAppearLive() async throws {
        try await MostradorSystem.with { system in
            let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
            let ticket = try await system.webhook(["remitente": "5215556660001", "contenido": "hola", "nombre": "Luis"])
                .decode(Received.self).ticketID
            let panel = LiveClient(url: system.webSocketURL(ticket: String(ticket), token: Self.token(admin)))
            defer { panel.close() }
            #expect(await panel.wait(for: "connection_established") != nil)
            _ = try await system.webhook(["remitente": "5215556660001", "contenido": "¿siguen ahí?"])
            #expect(
                await panel.wait(for: "mensaje_recibido", as: Message.self) { $0.contenido == "¿siguen ahí?" } != nil)
            panel.send("mensaje", ["mensaje": "Sí, aquí estamos", "client_id": "p-1"])
            let id = try #require(await panel.wait(for: "mensaje_confirmado", as: Confirmed.self)?.mensajeID)
            #expect(
                await panel.wait(for: "estado_entrega", as: Delivery.self, timeout: .seconds(15)) {
                    $0.mensajeID == id && $0.estadoEntrega == "sent"
                } != nil)
            #expect(system.bridge.deliveredTexts.contains("Sí, aquí estamos"))
        }
    }

    @Test func twoAPIInstancesShareLiveEvents() async throws {
        try await MostradorSystem.with(relay: false) { system in
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
                await onFirst.wait(for: "mensaje_recibido", as: Message.self) { $0.contenido == "desde la instancia 2" }
                    != nil)
            _ = try await system.call(
                "POST", "/api/chat/send_message/", authorization: chat.authorization,
                json: ["chat_room_id": chat.room, "content": "desde REST en la 1"])
            #expect(
                await onSecond.wait(for: "mensaje_recibido", as: Message.self) { $0.contenido == "desde REST en la 1" }
                    != nil)
            onFirst.send("typing_start")
            #expect(await onSecond.wait(for: "usuario_escribiendo") != nil)
            // Nobody got anything twice.
            for client in [onFirst, onSecond] {
                let ids = try client.frames("mensaje_recibido").map { try $0.decode(Message.self).id }
                #expect(ids.count == Set(ids).count)
            }
        }
    }

    /// Behind a balancer the file's POST may reach another instance than the socket that got the grant: the grant
    /// is in the shared database, and it is good once across both instances.
    @Test func anUploadGrantedOnOneInstanceIsTakenOnTheOtherOnce() async throws {
        try await MostradorSystem.with(relay: false) { system in
            let second = try await system.startSecondAPI()
            let chat = try await system.guestChat()
            let live = LiveClient(url: system.webSocketURL(ticket: chat.room, token: Self.token(chat.authorization)))
            defer { live.close() }
            #expect(await live.wait(for: "connection_established") != nil)
            live.send(
                "file_upload_request", ["nombre_archivo": "factura.png", "tamaño": 900, "tipo_mime": "image/png"])
            let grant = try #require(await live.wait(for: "file_upload_authorized"))
            let url = try #require(grant.data["upload_url"] as? String)
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 800)
            var body = Data(
                "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"factura.png\"\r\n\r\n".utf8)
            body.append(Data(png))
            body.append(Data("\r\n--B--\r\n".utf8))
            func upload(on base: String) async throws -> HTTPResult {
                try await HTTP.request(
                    "POST", base + url, headers: ["Content-Type": "multipart/form-data; boundary=B"], body: body)
            }
            let uploaded = try await upload(on: second.baseURL)
            #expect(uploaded.status == 201, "\(uploaded.text)")
            // Stored through the second instance, seen live on the first instance's socket.
            #expect(await live.wait(for: "mensaje_recibido") != nil)
            // Used: neither instance takes it again, the one that gave it included.
            #expect(try await upload(on: system.baseURL).status == 401)
            #expect(try await upload(on: second.baseURL).status == 401)
        }
    }
}
