import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MostradorAPI

/// Every route of the api × every kind of caller → the expected status, from one table (README "Who may do what").
@Suite struct AuthorizationMatrixTests {
    enum Who: String, CaseIterable {
        case nobody, otherGuest, guest, otherAgent, participant, assignedAgent, admin
    }

    struct Row {
        let method: HTTPRequest.Method
        let path: String
        var body: [String: Any]? = nil
        /// In the order of `Who`: nobody, otherGuest, guest, otherAgent, participant, assignedAgent, admin.
        let expected: [Int]
        /// Routes that change the chat get a fresh room per caller.
        var freshRoom = false
    }

    /// Read access: the room's visitor, its agent (or an unassigned chat's), admins.
    static let readers = [401, 404, 200, 403, 200, 200, 200]
    /// Agent-only routes about one chat.
    static let chatAgents = [401, 403, 403, 403, 200, 200, 200]
    /// Resolving and closing: the owner (or an unassigned chat's agent) and admins, not participants.
    static let chatOwners = [401, 403, 403, 403, 403, 200, 200]
    /// Agent-only routes about no chat in particular.
    static let anyAgent = [401, 403, 403, 200, 200, 200, 200]

    static var rows: [Row] {
        [
            // Seed 002, shared by visitors and agents
            Row(method: .get, path: "/api/chatrooms/{room}/messages/", expected: readers),
            Row(method: .get, path: "/api/messages/by_chat/?chat_room_id={room}", expected: readers),
            Row(method: .get, path: "/api/messages/unread_count/?chat_room_id={room}", expected: readers),
            Row(
                method: .post, path: "/api/messages/mark_chat_read/", body: ["chat_room_id": "{room}"],
                expected: readers),
            Row(method: .get, path: "/api/chat/get_chat_status/?chat_room_id={room}", expected: readers),
            Row(
                method: .get, path: "/api/user-notifications/get_notifications/?chat_room_id={room}", expected: readers),
            Row(
                method: .post, path: "/api/user-notifications/mark_read/", body: ["chat_room_id": "{room}"],
                expected: readers),
            Row(
                method: .post, path: "/api/chat/send_message/", body: ["chat_room_id": "{room}", "content": "hola"],
                expected: [401, 404, 201, 403, 403, 403, 403]),
            Row(
                method: .post, path: "/api/messages/send_guest_message/",
                body: ["chat_room_id": "{room}", "content": "hola"],
                expected: [401, 404, 201, 403, 403, 403, 403]),
            // The guest page's settings are public.
            Row(method: .get, path: "/api/chat/config", expected: [200, 200, 200, 200, 200, 200, 200]),
            // Seed 003 REST companions
            Row(method: .get, path: "/api/soporte/tickets/{ticket}/chat/historial", expected: readers),
            Row(method: .get, path: "/api/soporte/tickets/{room}/chat/historial", expected: readers),
            Row(method: .get, path: "/api/soporte/tickets/{ticket}/chat/stats", expected: readers),
            Row(
                method: .post, path: "/api/soporte/tickets/{ticket}/chat/mark-read", body: ["message_ids": []],
                expected: readers),
            Row(
                method: .post, path: "/api/soporte/tickets/{ticket}/chat/sync",
                body: ["messages": [["client_id": "c{n}", "contenido": "sin conexión"]]], expected: readers),
            Row(
                method: .post, path: "/api/soporte/tickets/{ticket}/chat/upload?upload_token=inventado",
                expected: [401, 401, 401, 401, 401, 401, 401]),
            // Files
            Row(method: .get, path: "/ticket/{ticket}/evidencias", expected: readers),
            Row(method: .get, path: "/attachments/{attachment}", expected: readers),
            // Seed 002, agents only
            Row(method: .get, path: "/api/chatrooms/{room}/", expected: chatAgents),
            Row(
                method: .post, path: "/api/chatrooms/{room}/send_message/", body: ["content": "hola"],
                expected: [401, 403, 403, 403, 201, 201, 201]),
            Row(
                method: .post, path: "/api/messages/", body: ["chat_room_id": "{room}", "content": "hola"],
                expected: [401, 403, 403, 403, 201, 201, 201]),
            Row(
                method: .post, path: "/api/messages/mark_bulk_read/", body: ["message_ids": ["{message}"]],
                expected: chatAgents),
            Row(method: .post, path: "/api/messages/{message}/mark_read/", expected: chatAgents),
            Row(method: .get, path: "/api/chatrooms/filtered_chats/", expected: anyAgent),
            Row(method: .get, path: "/api/notifications/", expected: anyAgent),
            Row(method: .get, path: "/api/notifications/unread_count/", expected: anyAgent),
            Row(
                method: .post, path: "/api/notifications/mark_read/", body: ["notification_ids": ["1"]],
                expected: anyAgent),
            Row(method: .post, path: "/api/notifications/mark_all_read/", expected: anyAgent),
            Row(method: .get, path: "/api/agents/", expected: anyAgent),
            Row(
                method: .post, path: "/api/agents/", body: ["username": "nuevo{n}", "password": "password123"],
                expected: [401, 403, 403, 403, 403, 403, 201]),
            Row(method: .get, path: "/api/dashboard/", expected: anyAgent),
            Row(
                method: .post, path: "/api/chatrooms/{room}/take/", expected: [401, 403, 403, 403, 409, 200, 409],
                freshRoom: true),
            Row(
                method: .post, path: "/api/chatrooms/{room}/transfer/", body: ["agent_id": "{otherAgent}"],
                expected: [401, 403, 403, 403, 403, 200, 200], freshRoom: true),
            Row(
                method: .post, path: "/api/chatrooms/{room}/assign/", body: ["agent_id": "{otherAgent}"],
                expected: [401, 403, 403, 403, 403, 403, 200], freshRoom: true),
            Row(method: .post, path: "/api/chatrooms/{room}/resolve/", expected: chatOwners, freshRoom: true),
            Row(method: .post, path: "/api/chatrooms/{room}/close/", expected: chatOwners, freshRoom: true),
            // Several technicians on one chat: participants read and write; the owner or an admin invites and
            // removes; an admin joins; a participant leaves (the owner transfers instead: 409).
            Row(method: .get, path: "/api/chatrooms/{room}/participants/", expected: chatAgents),
            Row(
                method: .post, path: "/api/chatrooms/{room}/participants/", body: ["agent_id": "{otherAgent}"],
                expected: [401, 403, 403, 403, 403, 201, 201], freshRoom: true),
            Row(
                method: .post, path: "/api/chatrooms/{room}/join/", expected: [401, 403, 403, 403, 200, 200, 201],
                freshRoom: true),
            Row(
                method: .post, path: "/api/chatrooms/{room}/leave/", expected: [401, 403, 403, 403, 200, 409, 200],
                freshRoom: true),
            Row(
                method: .delete, path: "/api/chatrooms/{room}/participants/{participant}",
                expected: [401, 403, 403, 403, 200, 200, 200], freshRoom: true),
            // Seeds 000/001/004
            Row(method: .get, path: "/tickets", expected: anyAgent),
            Row(method: .get, path: "/ticket/{ticket}/conversacion", expected: chatAgents),
            Row(
                method: .post, path: "/ticket/{ticket}/enviar-mensaje", body: ["mensaje": "hola"], expected: chatAgents),
            Row(
                method: .post, path: "/ticket/{ticket}/notificar", body: ["plantilla": "equipo listo"],
                expected: chatAgents),
            // Private notes: the agents who may read the chat; never a visitor.
            Row(
                method: .post, path: "/api/tickets/{ticket}/notes", body: ["content": "nota interna"],
                expected: [401, 403, 403, 403, 201, 201, 201]),
            Row(method: .get, path: "/api/tickets/{ticket}/notes", expected: chatAgents),
            // Labels: admins keep the catalogue; the agents who may read a chat label it.
            Row(method: .get, path: "/api/labels", expected: anyAgent),
            Row(
                method: .post, path: "/api/labels", body: ["name": "etiqueta{n}", "color": "#123456"],
                expected: [401, 403, 403, 403, 403, 403, 201]),
            Row(
                method: .put, path: "/api/tickets/{ticket}/labels", body: ["labels": []],
                expected: [401, 403, 403, 403, 200, 200, 200]),
            // The audit log is for admins only.
            Row(method: .get, path: "/api/audit", expected: [401, 403, 403, 403, 403, 403, 200]),
            // Two-factor: each agent's own (a room token is no session); requiring and resetting are for admins.
            Row(method: .get, path: "/api/auth/2fa", expected: [401, 401, 401, 200, 200, 200, 200]),
            Row(method: .get, path: "/api/settings/two-factor", expected: [401, 403, 403, 403, 403, 403, 200]),
            Row(
                method: .put, path: "/api/settings/two-factor", body: ["required_for_all": false],
                expected: [401, 403, 403, 403, 403, 403, 200]),
            // SLA: agents read the policies and the times of the chats they may read; admins keep the policies.
            Row(method: .get, path: "/api/sla-policies", expected: anyAgent),
            Row(
                method: .post, path: "/api/sla-policies", body: ["name": "sla{n}", "first_response_minutes": 30],
                expected: [401, 403, 403, 403, 403, 403, 201]),
            Row(method: .get, path: "/api/tickets/{ticket}/sla", expected: [401, 403, 403, 403, 200, 200, 200]),
            // Satisfaction: results for admins; rating is the visitor's, only once their chat is resolved (409 here).
            Row(method: .get, path: "/api/csat", expected: [401, 403, 403, 403, 403, 403, 200]),
            Row(
                method: .post, path: "/api/chat/rate/", body: ["chat_room_id": "{room}", "rating": 5],
                expected: [401, 404, 409, 403, 403, 403, 403]),
            // Business hours: agents read them, admins change them.
            Row(method: .get, path: "/api/settings/business-hours", expected: anyAgent),
            Row(
                method: .put, path: "/api/settings/business-hours", body: ["enabled": false],
                expected: [401, 403, 403, 403, 403, 403, 200]),
            // Auto-assignment settings are for admins only.
            Row(method: .get, path: "/api/settings/assignment", expected: [401, 403, 403, 403, 403, 403, 200]),
            Row(
                method: .put, path: "/api/settings/assignment", body: ["capacity": 5],
                expected: [401, 403, 403, 403, 403, 403, 200]),
            // Exports are for admins only.
            Row(method: .get, path: "/api/exports/tickets.csv", expected: [401, 403, 403, 403, 403, 403, 200]),
            Row(method: .get, path: "/api/exports/dashboard.csv", expected: [401, 403, 403, 403, 403, 403, 200]),
            // Outbound webhooks are for admins only.
            Row(method: .get, path: "/api/webhooks", expected: [401, 403, 403, 403, 403, 403, 200]),
            Row(
                method: .post, path: "/api/webhooks",
                body: ["url": "https://hooks.ejemplo.com/{n}", "events": ["ticket.created"]],
                expected: [401, 403, 403, 403, 403, 403, 201]),
            // WhatsApp templates: agents read the catalogue, admins keep it; sending one is writing in the chat
            // (this chat is a web chat: past the access policy, a template is refused as not for it).
            Row(method: .get, path: "/api/templates", expected: anyAgent),
            // A customer's history: any agent who may read one of their chats (this one is taken by assignedAgent).
            Row(method: .get, path: "/api/customers/{customer}", expected: [401, 403, 403, 404, 200, 200, 200]),
            Row(
                method: .post, path: "/api/templates",
                body: ["nombre": "aviso_{n}", "idioma": "es_MX", "cuerpo": "Hola {{1}}"],
                expected: [401, 403, 403, 403, 403, 403, 201]),
            Row(
                method: .patch, path: "/api/templates/{template}", body: ["estado": "approved"],
                expected: [401, 403, 403, 403, 403, 403, 200]),
            Row(
                method: .put, path: "/api/templates/{template}",
                body: ["nombre": "equipo_listo", "idioma": "es_MX", "cuerpo": "Hola {{1}}, su equipo está listo"],
                expected: [401, 403, 403, 403, 403, 403, 200]),
            Row(
                method: .delete, path: "/api/templates/999999", expected: [401, 403, 403, 403, 403, 403, 404]),
            Row(
                method: .post, path: "/ticket/{ticket}/enviar-plantilla",
                body: ["plantilla_id": 1, "parametros": ["Ana"]], expected: [401, 403, 403, 403, 400, 400, 400]),
            // WhatsApp channels: only the channel's own credential (bridge token, signature, gateway token) gets in;
            // no panel session or room token is one.
            Row(
                method: .post, path: "/webhook", body: ["remitente": "5215550001111", "contenido": "hola"],
                expected: channelsOnly),
            Row(
                method: .post, path: "/webhooks/whatsapp-cloud", body: ["object": "whatsapp_business_account"],
                expected: channelsOnly),
            Row(method: .get, path: "/webhooks/whatsapp-cloud", expected: [403, 403, 403, 403, 403, 403, 403]),
            Row(method: .post, path: "/webhooks/waha", body: ["event": "message"], expected: channelsOnly),
            Row(method: .post, path: "/webhooks/evolution", body: ["event": "messages.upsert"], expected: channelsOnly),
        ]
    }

    /// Webhooks: nobody's panel or room credential opens them.
    static let channelsOnly = [401, 401, 401, 401, 401, 401, 401]

    /// One chat taken by `assignedAgent` with `participant` invited, its visitor, another visitor, and one file in it.
    struct Room {
        let room: String
        let ticket: Int64
        let guest: String
        let otherGuest: String
        let message: Int64
        let attachment: Int64
        let customer: Int64
    }

    @Test func everyRouteAnswersEveryCallerAsExpected() async throws {
        try await APITestSystem.with(configure: {
            // Every channel configured, so that a refusal is about the caller's credential, not a missing setting.
            $0.cloudAppSecret = "secreto"
            $0.cloudVerifyToken = "verificar"
            $0.wahaHMACKey = "clave"
            $0.evolutionWebhookToken = "token-evolution"
        }) { api in
            let admin = try await api.admin()
            let assigned = try await api.agent("tecnico1")
            let other = try await api.agent("tecnico2")
            let participant = try await api.agent("tecnico3")

            func makeRoom() async throws -> Room {
                let mine = try await api.guestChat("mi impresora no imprime")
                let theirs = try await api.guestChat("otro problema")
                let taken = try await api.call(
                    .post, "/api/chatrooms/\(mine.room)/take/", authorization: assigned.authorization)
                try #require(taken.status == 200, Comment(rawValue: taken.text))
                let invited = try await api.call(
                    .post, "/api/chatrooms/\(mine.room)/participants/", authorization: assigned.authorization,
                    json: ["agent_id": participant.id])
                try #require(invited.status == 201, Comment(rawValue: invited.text))
                let file = try await api.components.attachments.store(Self.png, filename: "foto.png")
                let attachment = try await api.components.conversations.attach(
                    file, by: .guest(ticketID: mine.ticket), in: mine.ticket)
                let first = try #require(
                    try await api.components.conversations.messages.recent(
                        ticketID: mine.ticket, count: 1_000, for: .agents
                    ).first)
                let row = try #require(
                    try await api.components.attachments.list(ticketID: mine.ticket).first {
                        $0.messageID == attachment
                    })
                let customer = try #require(try await api.components.conversations.tickets.summary(id: mine.ticket))
                return Room(
                    room: mine.room, ticket: mine.ticket, guest: mine.authorization, otherGuest: theirs.authorization,
                    message: first.id, attachment: row.id, customer: customer.customerID)
            }
            let shared = try await makeRoom()
            let template = try #require(
                try await MessageTemplates(reader: api.pool, committer: api.components.committer).add(
                    name: "equipo_listo", language: "es_MX", category: "UTILITY",
                    body: "Hola {{1}}, su equipo está listo",
                    status: .approved))
            var failures: [String] = []
            var counter = 0
            for row in Self.rows {
                for (index, who) in Who.allCases.enumerated() {
                    let room = row.freshRoom ? try await makeRoom() : shared
                    counter += 1
                    func fill(_ text: String) -> String {
                        text.replacingOccurrences(of: "{room}", with: room.room)
                            .replacingOccurrences(of: "{ticket}", with: String(room.ticket))
                            .replacingOccurrences(of: "{message}", with: String(room.message))
                            .replacingOccurrences(of: "{attachment}", with: String(room.attachment))
                            .replacingOccurrences(of: "{otherAgent}", with: other.id)
                            .replacingOccurrences(of: "{participant}", with: participant.id)
                            .replacingOccurrences(of: "{template}", with: String(template.id))
                            .replacingOccurrences(of: "{customer}", with: String(room.customer))
                            .replacingOccurrences(of: "{n}", with: String(counter))
                    }
                    func fillAny(_ value: Any) -> Any {
                        if let text = value as? String { return fill(text) }
                        if let list = value as? [Any] { return list.map(fillAny) }
                        if let object = value as? [String: Any] { return object.mapValues(fillAny) }
                        return value
                    }
                    let authorization: String? =
                        switch who {
                        case .nobody: nil
                        case .otherGuest: room.otherGuest
                        case .guest: room.guest
                        case .otherAgent: other.authorization
                        case .participant: participant.authorization
                        case .assignedAgent: assigned.authorization
                        case .admin: admin
                        }
                    let reply = try await api.call(
                        row.method, fill(row.path), authorization: authorization, json: row.body.map(fillAny))
                    if reply.status != row.expected[index] {
                        failures.append(
                            "\(row.method) \(row.path) as \(who): \(reply.status), expected \(row.expected[index]) — \(reply.text.prefix(120))"
                        )
                    }
                    if reply.status >= 400, (try? reply.json())?["detail"] == nil {
                        failures.append("\(row.method) \(row.path) as \(who): error without a JSON detail")
                    }
                }
            }
            #expect(
                failures.isEmpty,
                Comment(rawValue: "\(failures.count) wrong cells:\n" + failures.joined(separator: "\n")))
        }
    }

    /// Lists show an agent only what the access policy lets them read.
    @Test func listsHideOtherAgentsChats() async throws {
        try await APITestSystem.with { api in
            let assigned = try await api.agent("tecnico1")
            let other = try await api.agent("tecnico2")
            let chat = try await api.guestChat("mi monitor parpadea")
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: assigned.authorization)
            for who in [assigned.authorization, other.authorization, try await api.admin()] {
                let tickets = try await api.call(.get, "/tickets", authorization: who)
                let rooms = try await api.call(.get, "/api/chatrooms/filtered_chats/", authorization: who)
                let visible = who != other.authorization
                #expect(try tickets.list().contains { $0["id"] as? Int == Int(chat.ticket) } == visible)
                let chats = try #require(try rooms.json()["chats"] as? [[String: Any]])
                #expect(chats.contains { $0["id"] as? String == chat.room } == visible)
            }
        }
    }

    /// Upload grants (WebSocket `file_upload_request`) follow the same policy, and a grant is refused at upload
    /// time once the chat is closed.
    @Test func uploadGrantsFollowTheAccessPolicy() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let assigned = try await api.agent("tecnico1")
            let other = try await api.agent("tecnico2")
            let chat = try await api.guestChat("mi impresora no imprime")
            let stranger = try await api.guestChat("otra cosa")
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: assigned.authorization)
            let controller = LiveController(
                conversations: api.components.conversations,
                hub: LiveHub(messages: api.components.conversations.messages, logger: .init(label: "t")),
                uploads: api.components.uploads)
            let request: [String: Any] = ["tamaño": 1000, "tipo_mime": "image/png", "nombre_archivo": "f.png"]
            func caller(_ authorization: String) async throws -> Caller? {
                let token = String(authorization.split(separator: " ")[1])
                return try await api.components.callers.identify(token: token)
            }
            let expectations: [(String?, Bool)] = [
                (nil, false), (stranger.authorization, false), (chat.authorization, true),
                (other.authorization, false), (assigned.authorization, true), (admin, true),
            ]
            for (authorization, granted) in expectations {
                let who = try await authorization.asyncMap { try await caller($0) } ?? nil
                let frame = await controller.authorizeUpload(request, ticketID: chat.ticket, caller: who)
                #expect(frame.contains("file_upload_authorized") == granted, Comment(rawValue: frame))
            }
            // A grant taken while the chat was open is refused once it is closed.
            let frame = await controller.authorizeUpload(
                request, ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
            let token = try #require(frame.split(separator: "upload_token=").last?.split(separator: "\"").first)
            let closed = try await api.call(.post, "/api/chatrooms/\(chat.room)/close/", authorization: admin)
            #expect(closed.status == 200)
            let upload = try await api.call(
                .post, "/api/soporte/tickets/\(chat.ticket)/chat/upload?upload_token=\(token)",
                body: Self.multipart(Self.png), contentType: "multipart/form-data; boundary=XyZ")
            #expect(upload.status == 400, Comment(rawValue: upload.text))
            let refused = await controller.authorizeUpload(
                request, ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
            #expect(refused.contains("chat_cerrado"))
        }
    }

    /// The WebSocket upgrade goes through the same policy (before any frame is exchanged).
    @Test func webSocketUpgradeFollowsTheAccessPolicy() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let assigned = try await api.agent("tecnico1")
            let other = try await api.agent("tecnico2")
            let chat = try await api.guestChat("mi impresora no imprime")
            let stranger = try await api.guestChat("otra cosa")
            _ = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: assigned.authorization)
            let router = Router(context: LiveRequestContext.self)
            router.add(
                middleware: LiveAuthMiddleware(conversations: api.components.conversations, hub: api.hub))
            router.get("ws/soporte/ticket/:id") { _, context in "ticket \(context.ticketID)" }
            let expectations: [(String?, Int)] = [
                (nil, 401), (stranger.authorization, 404), (chat.authorization, 200), (other.authorization, 403),
                (assigned.authorization, 200), (admin, 200),
            ]
            try await Application(router: router).test(.router) { client in
                for (authorization, status) in expectations {
                    let token = authorization.map { String($0.split(separator: " ")[1]) } ?? ""
                    for key in [String(chat.ticket), chat.room] {
                        let response = try await client.execute(
                            uri: "/ws/soporte/ticket/\(key)/?token=\(token)", method: .get)
                        #expect(
                            Int(response.status.code) == status,
                            Comment(rawValue: "\(authorization ?? "nobody") on \(key)"))
                    }
                }
            }
        }
    }

    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 64)

    static func multipart(_ bytes: [UInt8]) -> Data {
        var data = Data(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.png\"\r\nContent-Type: image/png\r\n\r\n"
                .utf8)
        data.append(contentsOf: bytes)
        data.append(Data("\r\n--XyZ--\r\n".utf8))
        return data
    }
}
