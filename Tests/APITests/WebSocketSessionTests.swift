import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// WebSocket sessions (review A3, I2): single-use tickets instead of tokens in URLs, every write frame checked
/// against the session and the access policy, sockets closed when their session ends or their rights change, caps
/// per token and per address, throttled typing, and the purge of what has expired.
@Suite("WebSocket sessions, tickets and caps")
struct WebSocketSessionTests {
    typealias Frame = Answer.Frame

    struct IssuedTicket: Decodable {
        let ticket: String
        let expiresIn: Int
        enum CodingKeys: String, CodingKey {
            case ticket
            case expiresIn = "expires_in"
        }
    }

    static func token(_ header: String) -> String { String(header.split(separator: " ").last ?? "") }

    static func issue(_ api: APITestSystem, _ authorization: String, ticket: Any? = nil) async throws -> String {
        let reply = try await api.call(
            .post, "/api/auth/ws-ticket/", authorization: authorization,
            json: ticket.map { ["ticket_id": $0] } ?? [String: Any]())
        try #require(reply.status == 201, Comment(rawValue: reply.text))
        let issued = try reply.decode(IssuedTicket.self)
        #expect(issued.expiresIn == 30)
        return issued.ticket
    }

    /// A socket opened the way the panel and the guest page open it: a ticket first, then `?ticket=`.
    static func connect(_ api: APITestSystem, _ authorization: String, room: String) async throws -> LiveClient {
        let ticket = try await issue(api, authorization)
        let url = try api.webSocketURL(ticket: room, token: "").replacingOccurrences(of: "?token=", with: "?ticket=")
        let client = LiveClient(url: url + ticket)
        try #require(await client.wait(for: "connection_established") != nil)
        return client
    }

    static func messages(_ api: APITestSystem, containing text: String) async throws -> Int {
        try await api.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE content = ?", arguments: [text]) ?? 0
        }
    }

    static func revocations(_ api: APITestSystem) -> [LiveEvent] {
        api.live.recorded.filter { $0.kind == .sessionsRevoked }
    }

    // MARK: Tickets

    @Test func panelAndGuestConnectWithAWebSocketTicket() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("mi laptop no carga")
            let panel = try await Self.connect(api, admin, room: String(chat.ticket))
            let guest = try await Self.connect(api, chat.authorization, room: chat.room)
            defer {
                panel.close()
                guest.close()
            }
            panel.send("mensaje", ["mensaje": "Hola, soy el técnico", "client_id": "p-1"])
            #expect(await panel.wait(for: "mensaje_confirmado", as: Frame.Confirmed.self) != nil)
            #expect(
                await guest.wait(for: "mensaje_recibido", as: Answer.LiveMessage.self) {
                    $0.contenido == "Hola, soy el técnico"
                } != nil)
            guest.send("mensaje", ["mensaje": "gracias", "client_id": "g-1"])
            #expect(await guest.wait(for: "mensaje_confirmado", as: Frame.Confirmed.self) != nil)

            // A ticket limited to one conversation (the panel asks for the one it opens).
            let limited = try await Self.issue(api, admin, ticket: chat.ticket)
            let url = try api.webSocketURL(ticket: chat.room, token: "").replacingOccurrences(
                of: "?token=", with: "?ticket=")
            let third = LiveClient(url: url + limited)
            defer { third.close() }
            #expect(await third.wait(for: "connection_established") != nil)
        }
    }

    @Test func seedClientsStillConnectWithTheirToken() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let chat = try await api.guestChat()
            let guest = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: Self.token(chat.authorization)))
            defer { guest.close() }
            #expect(await guest.wait(for: "connection_established") != nil)
            let admin = LiveClient(
                url: try api.webSocketURL(ticket: chat.room, token: Self.token(try await api.admin())))
            defer { admin.close() }
            #expect(await admin.wait(for: "connection_established") != nil)
        }
    }

    /// The upgrade's answers, on the router: a ticket opens one socket, once, within 30 s, in its conversation.
    @Test func aWebSocketTicketIsSingleUseExpiresAndStaysInItsConversation() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let other = try await api.agent("tecnico2")
            let chat = try await api.guestChat(email: "uno@x.com")
            let second = try await api.guestChat(email: "dos@x.com")
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: tecnico.authorization)

            // Issuing: credentials required, the policy decides a limited ticket, the body is checked.
            #expect(try await api.call(.post, "/api/auth/ws-ticket/").status == 401)
            #expect(try await api.call(.post, "/api/auth/ws-ticket/", authorization: "Token nope").status == 401)
            let othersChat = try await api.call(
                .post, "/api/auth/ws-ticket/", authorization: other.authorization, json: ["ticket_id": chat.ticket])
            #expect(othersChat.status == 403)
            #expect(othersChat.failure?.detail?.isEmpty == false)
            let guestElsewhere = try await api.call(
                .post, "/api/auth/ws-ticket/", authorization: chat.authorization, json: ["ticket_id": second.room])
            #expect(guestElsewhere.status == 404)
            let badBody = try await api.call(
                .post, "/api/auth/ws-ticket/", authorization: admin, json: ["ticket_id": true])
            #expect(badBody.status == 400)
            #expect(badBody.failure?.detail?.isEmpty == false)

            let router = Router(context: LiveRequestContext.self)
            router.add(middleware: LiveAuthMiddleware(conversations: api.components.conversations, hub: api.hub))
            router.get("ws/soporte/ticket/:id") { _, context in "ticket \(context.ticketID)" }
            try await Application(router: router).test(.router) { client in
                func open(_ room: String, ticket: String) async throws -> Int {
                    Int(
                        try await client.execute(uri: "/ws/soporte/ticket/\(room)/?ticket=\(ticket)", method: .get)
                            .status.code)
                }
                let once = try await Self.issue(api, tecnico.authorization)
                #expect(try await open(chat.room, ticket: once) == 200)
                #expect(try await open(chat.room, ticket: once) == 401)

                let late = try await Self.issue(api, tecnico.authorization)
                api.clock.advance(by: 31)
                #expect(try await open(chat.room, ticket: late) == 401)

                let limited = try await Self.issue(api, admin, ticket: chat.room)
                #expect(try await open(second.room, ticket: limited) == 401)
                let guests = try await Self.issue(api, chat.authorization)
                #expect(try await open(second.room, ticket: guests) == 404)
                // A ticket lives no longer than the session that asked for it.
                let orphan = try await Self.issue(api, other.authorization)
                _ = try await api.call(.post, "/api/auth/logout/", authorization: other.authorization)
                #expect(try await open(second.room, ticket: orphan) == 401)
                #expect(try await open(chat.room, ticket: "no-es-un-ticket") == 401)
            }
            // Used and expired tickets are gone; a waiting one is stored as its SHA-256 only.
            let waiting = try await Self.issue(api, admin)
            let stored = try await api.pool.read { db in
                try String.fetchAll(db, sql: "SELECT ticket_hash FROM ws_tickets")
            }
            #expect(stored == [AgentStore.digest(waiting)])
        }
    }

    // MARK: Revocation

    @Test func logoutClosesThatSessionsSocketsOnly() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let tecnico = try await api.agent("tecnico1")
            let otherTab = try await api.login("tecnico1", "password123")
            let chat = try await api.guestChat()
            let leaving = try await Self.connect(api, tecnico.authorization, room: chat.room)
            let staying = try await Self.connect(api, otherTab, room: chat.room)
            defer {
                leaving.close()
                staying.close()
            }
            let logout = try await api.call(.post, "/api/auth/logout/", authorization: tecnico.authorization)
            #expect(logout.status == 200)
            #expect(Self.revocations(api).map(\.userID).contains { $0?.hasPrefix("agente-") == true })
            let closed = try #require(await leaving.waitUntilClosed())
            #expect(closed.code == "policyViolation")
            #expect(leaving.frames("error").contains { $0.data["codigo"] as? String == "sesion_invalida" })
            staying.send("heartbeat")
            #expect(await staying.wait(for: "heartbeat") != nil)
            #expect(staying.closed == nil)
        }
    }

    @Test func deactivationByAnAdminClosesTheAgentsSockets() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat()
            let socket = try await Self.connect(api, tecnico.authorization, room: chat.room)
            defer { socket.close() }
            let deactivated = try await api.call(.delete, "/api/agents/\(tecnico.id)/", authorization: admin)
            #expect(deactivated.status == 200, Comment(rawValue: deactivated.text))
            #expect(Self.revocations(api).count == 1)
            #expect(await socket.waitUntilClosed()?.code == "policyViolation")
        }
    }

    @Test func demotionClosesSocketsOnChatsNoLongerAllowed() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let admin = try await api.admin()
            let created = try await api.call(
                .post, "/api/agents/", authorization: admin,
                json: ["username": "jefa", "password": "password123", "role": "admin"])
            let jefa = (try await api.login("jefa", "password123"), try created.decode(Answer.Agent.self).id)
            let tecnico = try await api.agent("tecnico1")
            let assigned = try await api.guestChat(email: "uno@x.com")
            let open = try await api.guestChat(email: "dos@x.com")
            _ = try await api.call(.post, "/api/chatrooms/\(assigned.room)/take/", authorization: tecnico.authorization)
            let onSomeoneElses = try await Self.connect(api, jefa.0, room: assigned.room)
            let onUnassigned = try await Self.connect(api, jefa.0, room: open.room)
            defer {
                onSomeoneElses.close()
                onUnassigned.close()
            }
            let demoted = try await api.call(
                .patch, "/api/agents/\(jefa.1)/", authorization: admin, json: ["role": "agent"])
            #expect(demoted.status == 200, Comment(rawValue: demoted.text))
            #expect(await onSomeoneElses.waitUntilClosed()?.code == "policyViolation")
            #expect(
                onSomeoneElses.frames("error").contains { $0.data["codigo"] as? String != "sesion_invalida" })
            onUnassigned.send("heartbeat")
            #expect(await onUnassigned.wait(for: "heartbeat") != nil)
            #expect(onUnassigned.closed == nil)
        }
    }

    @Test func transferAwayClosesTheAgentsSocket() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let tecnico = try await api.agent("tecnico1")
            let ana = try await api.agent("ana")
            let chat = try await api.guestChat()
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: tecnico.authorization)
            let socket = try await Self.connect(api, tecnico.authorization, room: chat.room)
            defer { socket.close() }
            let transferred = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/transfer/", authorization: tecnico.authorization,
                json: ["agent_id": ana.id])
            #expect(transferred.status == 200, Comment(rawValue: transferred.text))
            #expect(await socket.waitUntilClosed()?.code == "policyViolation")
        }
    }

    /// A session that ended without a poke reaching this instance (or expired): the next write frame is refused,
    /// nothing is stored, and the socket closes.
    @Test func aMensajeAfterRevocationIsRefusedAndNotStored() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat()
            let socket = try await Self.connect(api, tecnico.authorization, room: chat.room)
            defer { socket.close() }
            socket.send("mensaje", ["mensaje": "antes", "client_id": "a-1"])
            #expect(await socket.wait(for: "mensaje_confirmado") != nil)
            let digest = AgentStore.digest(Self.token(tecnico.authorization))
            try await api.pool.write { db in
                try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [digest])
            }
            socket.send("mensaje", ["mensaje": "después de salir", "client_id": "a-2"])
            socket.send("mensaje", ["mensaje": "y otra vez", "client_id": "a-3"])
            #expect(await socket.waitUntilClosed()?.code == "policyViolation")
            #expect(socket.frames("error").map { $0.data["codigo"] as? String } == ["sesion_invalida"])
            #expect(socket.frames("mensaje_confirmado").count == 1)
            #expect(try await Self.messages(api, containing: "después de salir") == 0)
            #expect(try await Self.messages(api, containing: "y otra vez") == 0)
            #expect(try await Self.messages(api, containing: "antes") == 1)
        }
    }

    @Test func expiredSessionsSocketsCloseOnTheSweep() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let tecnico = try await api.agent("tecnico1")
            let chat = try await api.guestChat()
            let agent = try await Self.connect(api, tecnico.authorization, room: chat.room)
            let guest = try await Self.connect(api, chat.authorization, room: chat.room)
            defer {
                agent.close()
                guest.close()
            }
            await api.hub.sweep()
            agent.send("heartbeat")
            #expect(await agent.wait(for: "heartbeat") != nil)
            api.clock.advance(by: 12 * 3600 + 1)
            await api.hub.sweep()
            #expect(await agent.waitUntilClosed()?.code == "policyViolation")
            // Visitors have no session to expire.
            guest.send("heartbeat")
            #expect(await guest.wait(for: "heartbeat") != nil)
            #expect(guest.closed == nil)
        }
    }

    // MARK: Caps

    @Test func twoHundredSocketsWithOneGuestTokenAreCapped() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let cap = APISettings().webSocketsPerToken
            let chat = try await api.guestChat()
            let url = try api.webSocketURL(ticket: chat.room, token: Self.token(chat.authorization))
            let admitted = (0..<cap).map { _ in LiveClient(url: url) }
            defer { for client in admitted { client.close() } }
            #expect(await eventually { admitted.allSatisfy { !$0.frames("connection_established").isEmpty } })
            // The other 190 are refused before the upgrade (429).
            let refused = (cap..<200).map { _ in LiveClient(url: url) }
            defer { for client in refused { client.close() } }
            #expect(await eventually(timeout: .seconds(60)) { refused.allSatisfy { $0.closed != nil } })
            #expect(refused.allSatisfy { !$0.isConnected && $0.frames("connection_established").isEmpty })
            #expect(await api.hub.connectionCount == cap)
            // A socket that leaves frees its place.
            admitted[0].close()
            #expect(await eventually { await api.hub.connectionCount == cap - 1 })
            let another = LiveClient(url: url)
            defer { another.close() }
            #expect(await another.wait(for: "connection_established") != nil)
        }
    }

    /// Sockets that pass the check before the upgrade at the same time are counted once more when they join.
    @Test func theHubAdmitsNoMoreThanTheCapWhenSocketsJoinAtOnce() async throws {
        try await APITestSystem.with { api in
            let hub = LiveHub(messages: api.components.conversations.messages, logger: .init(label: "t"))
            let limits = LiveHub.Limits(perCredential: 10, perAddress: 11)
            var refusals: [LiveRefusal?] = []
            for index in 0..<13 {
                let credential = LiveCredential.room(digest: index < 11 ? "uno" : "dos")
                let client = LiveHub.Client(
                    id: "c\(index)", userID: "cliente", name: "V", kind: "CLIENTE", socket: LiveConnection(),
                    credential: credential, address: "192.0.2.1")
                refusals.append(await hub.join(ticketID: 1, client: client, lastMessageID: 0, limits: limits))
            }
            #expect(refusals.prefix(10).allSatisfy { $0 == nil })
            #expect(refusals[10] == .tooManyForToken)
            #expect(refusals[11] == nil)
            #expect(refusals[12] == .tooManyForAddress)
            await hub.leave(ticketID: 1, clientID: "c0")
            #expect(await hub.admits(credential: .room(digest: "uno"), address: "192.0.2.1", limits: limits) == nil)
        }
    }

    @Test func socketsPerAddressAreCapped() async throws {
        try await APITestSystem.with(transport: .live, configure: { $0.webSocketsPerAddress = 3 }) { api in
            var clients: [LiveClient] = []
            defer { for client in clients { client.close() } }
            for index in 0..<3 {
                let chat = try await api.guestChat(email: "v\(index)@x.com")
                clients.append(try await Self.connect(api, chat.authorization, room: chat.room))
            }
            let fourth = try await api.guestChat(email: "v4@x.com")
            let refused = LiveClient(
                url: try api.webSocketURL(ticket: fourth.room, token: Self.token(fourth.authorization)))
            clients.append(refused)
            #expect(await refused.waitUntilClosed() != nil)
            #expect(refused.frames("connection_established").isEmpty)
            #expect(await api.hub.connectionCount == 3)
        }
    }

    /// Behind a trusted proxy every socket comes from the proxy's address: the cap counts the client the proxy
    /// names, so two visitors behind it each get their own allowance, and a client's own claim is not believed.
    @Test func behindATrustedProxySocketsAreCappedPerRealClient() async throws {
        try await APITestSystem.with(
            transport: .live,
            configure: {
                $0.webSocketsPerAddress = 2
                $0.trustedProxies = try! TrustedProxies(parsing: "127.0.0.1/32, ::1/128")
            }
        ) { api in
            var clients: [LiveClient] = []
            defer { for client in clients { client.close() } }
            func open(from client: String) async throws -> LiveClient {
                let chat = try await api.guestChat(email: "\(UUID().uuidString.prefix(8))@x.com")
                let socket = LiveClient(
                    url: try api.webSocketURL(ticket: chat.room, token: Self.token(chat.authorization)),
                    headers: [HTTPField.Name("X-Forwarded-For")!: client])
                clients.append(socket)
                return socket
            }
            for _ in 0..<2 {
                #expect(try await open(from: "203.0.113.1").wait(for: "connection_established") != nil)
            }
            let third = try await open(from: "203.0.113.1")
            #expect(await third.waitUntilClosed() != nil)
            #expect(third.frames("connection_established").isEmpty)
            // Another visitor behind the same proxy is not held back by the first one's sockets.
            #expect(try await open(from: "203.0.113.2").wait(for: "connection_established") != nil)
            #expect(await api.hub.connectionCount == 3)
        }
    }

    @Test func aTypingFloodPublishesAHandfulOfEvents() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let chat = try await api.guestChat()
            let guest = try await Self.connect(api, chat.authorization, room: chat.room)
            defer { guest.close() }
            for index in 0..<1000 { guest.send(index.isMultiple(of: 2) ? "typing_start" : "typing_stop") }
            // Frames are handled in order: once the heartbeat is answered, the flood has been handled.
            guest.send("heartbeat")
            #expect(await guest.wait(for: "heartbeat", timeout: .seconds(60)) != nil)
            func typing() -> [LiveEvent.Kind] {
                api.live.recorded.map(\.kind).filter { $0 == .typingStart || $0 == .typingStop }
            }
            #expect(typing() == [.typingStart, .typingStop])
            // Typing again later is announced again.
            api.clock.advance(by: LiveConnection.typingInterval)
            guest.send("typing_start")
            guest.send("heartbeat")
            #expect(await eventually { guest.frames("heartbeat").count == 2 })
            #expect(typing() == [.typingStart, .typingStop, .typingStart])
        }
    }

    // MARK: Purge

    @Test func purgeRemovesExpiredSessionsAndOldRoomTokens() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            _ = try await api.agent("tecnico1")
            _ = try await api.login("tecnico1", "password123")
            _ = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "sin terminar"])
            _ = try await Self.issue(api, admin)
            let closed = try await api.guestChat(email: "cerrado@x.com")
            let open = try await api.guestChat(email: "abierto@x.com")
            #expect(
                try await api.call(.post, "/api/chatrooms/\(closed.room)/close/", authorization: admin).status == 200)
            func count(_ table: String) async throws -> Int {
                try await api.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
            }
            let purge = SessionPurge(committer: api.components.committer, settings: api.components.settings)
            #expect(try await purge.run(now: api.clock.wallClock.now()) == SessionPurge.Removed())
            #expect(try await count("sessions") == 4)
            #expect(try await count("guest_sessions") == 3)
            #expect(try await count("ws_tickets") == 1)

            api.clock.advance(by: 13 * 3600)
            let removed = try await purge.run(now: api.clock.wallClock.now())
            #expect(removed.sessions == 4 && removed.guestSessions == 3 && removed.webSocketTickets == 1)
            #expect(removed.roomTokens == 0)
            #expect(try await count("sessions") == 0)
            #expect(try await count("guest_sessions") == 0)
            #expect(try await count("ws_tickets") == 0)

            // A closed chat's visitor reads their history for 7 days, then the room token stops working.
            let history = "/api/soporte/tickets/\(closed.room)/chat/historial/"
            api.clock.advance(by: 6 * 86400)
            #expect(try await purge.run(now: api.clock.wallClock.now()).roomTokens == 0)
            #expect(try await api.call(.get, history, authorization: closed.authorization).status == 200)
            api.clock.advance(by: 86400)
            #expect(try await purge.run(now: api.clock.wallClock.now()).roomTokens == 1)
            let expired = try await api.call(.get, history, authorization: closed.authorization)
            #expect(expired.status == 401)
            #expect(expired.failure?.detail?.isEmpty == false)
            let stillOpen = "/api/soporte/tickets/\(open.room)/chat/historial/"
            #expect(try await api.call(.get, stillOpen, authorization: open.authorization).status == 200)
        }
    }
}
