import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// `/ws/soporte/ticket/{id}/?ticket=…` (or seed 003's `?token=…`) for agents and web visitors. Every write frame
/// asks again who the socket speaks for (`LiveSessions`): a session that ended or an access the policy no longer
/// gives closes the socket with 1008.
struct LiveController: Sendable {
    let conversations: Conversations
    let hub: LiveHub
    let uploads: UploadGrants
    /// Sockets per token and per address.
    var limits = LiveHub.Limits.unlimited

    var sessions: LiveSessions { LiveSessions(conversations) }

    static let maxFrame = 64 << 10
    /// Frames that may wait for a slow client before it is told to resync.
    var frameCapacity = LiveConnection.defaultCapacity

    func addRoutes(to router: Router<LiveRequestContext>) {
        router.ws("ws/soporte/ticket/:id") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            try await session(inbound: inbound, outbound: outbound, context: context.requestContext)
        }
    }

    struct Person: Sendable {
        let id: String
        let name: String
        let kind: String
    }

    func person(_ caller: Caller?, ticketID: Int64) async throws -> Person {
        switch caller {
        case .agent(let agent): return Person(id: agent.liveID, name: agent.displayName, kind: "AGENTE")
        default:
            let name = try await conversations.tickets.summary(id: ticketID)?.customerName ?? "Cliente"
            return Person(id: "cliente", name: name, kind: "CLIENTE")
        }
    }

    func session(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: LiveRequestContext)
        async throws
    {
        let ticketID = context.ticketID
        let connection = LiveConnection(capacity: frameCapacity)
        let me = try await person(context.caller, ticketID: ticketID)
        let recent = try await conversations.messages.recent(
            ticketID: ticketID, count: 50, for: Audience(context.caller))
        // Distinct people (an agent with two tabs is one), at most 50: the frame stays small however many
        // sockets share the room.
        let participants = await hub.participants(ticketID: ticketID)
        var seen: Set<String> = [me.id]
        var everyone = [LiveFrames.Participant(id: me.id, name: me.name, kind: me.kind)]
        for participant in participants where everyone.count < 50 && seen.insert(participant.userID).inserted {
            everyone.append(
                LiveFrames.Participant(id: participant.userID, name: participant.name, kind: participant.kind))
        }
        let established = LiveFrames.ConnectionEstablished(
            ticketID: ticketID, roomID: context.roomUUID, connectionID: connection.id,
            user: LiveFrames.User(id: me.id, name: me.name, kind: me.kind), participants: everyone,
            connections: participants.count + 1, recentHistory: recent.map(LiveMessageJSON.init))
        connection.send(LiveFrame(.connectionEstablished, established).text)
        var client = LiveHub.Client(
            id: connection.id, userID: me.id, name: me.name, kind: me.kind, socket: connection,
            credential: context.credential, address: context.clientAddress.rateLimitKey, close: connection.close)
        if let credential = context.credential {
            let sessions = self.sessions
            client.verify = { await sessions.refusal(credential, ticketID: ticketID) }
        }
        if let refusal = await hub.join(
            ticketID: ticketID, client: client, lastMessageID: recent.last?.id ?? 0, limits: limits)
        {
            connection.finish()
            try await Self.close(outbound, refusal)
            return
        }
        // Anything written between reading the history and joining goes out now.
        await hub.catchUp(ticketID: ticketID, clientID: connection.id, history: recent)
        do {
            try await exchange(inbound: inbound, outbound: outbound, me: me, connection: connection, context: context)
        } catch {
            await hub.leave(ticketID: ticketID, clientID: connection.id)
            throw error
        }
        await hub.leave(ticketID: ticketID, clientID: connection.id)
    }

    /// Sends `refusal` as an `error` frame and closes with 1008 (policy violation) and its message as the reason.
    static func close(_ outbound: WebSocketOutboundWriter, _ refusal: LiveRefusal) async throws {
        try await outbound.write(.text(error(refusal.code, refusal.message)))
        // A close reason holds at most 123 bytes.
        var reason = refusal.message
        while reason.utf8.count > 123 { reason.removeLast() }
        try await outbound.close(.policyViolation, reason: reason)
    }

    /// Writes queued frames out while reading the client's frames in, until either side ends.
    private func exchange(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, me: Person, connection: LiveConnection,
        context: LiveRequestContext
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in connection.frames {
                    // Frames still waiting when the client fell behind are stale: it reloads instead.
                    if connection.isBehind { break }
                    try await outbound.write(.text(frame))
                }
                // The frames end with the connection, or early when it must close or resync.
                if connection.isBehind {
                    try await Self.resync(outbound)
                } else if let refusal = connection.refusal {
                    try await Self.close(outbound, refusal)
                }
            }
            group.addTask {
                defer { connection.finish() }
                for try await message in inbound.messages(maxSize: Self.maxFrame) {
                    guard connection.refusal == nil, !connection.isBehind else { continue }
                    guard case .text(let text) = message else {
                        connection.send(Self.error("formato_no_soportado", "Solo se aceptan mensajes de texto JSON"))
                        continue
                    }
                    await handle(text, from: me, connection: connection, context: context, reply: connection)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Tells a client that fell too far behind to reload the conversation (`{"tipo": "resync"}`), and closes with
    /// 1013 (try again later): it connects again once it has reloaded.
    static func resync(_ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(LiveFrame(.resync, LiveFrames.Resync()).text))
        try await outbound.close(.unknown(1013), reason: "Recarga la conversación")
    }

    static func error(_ code: String, _ message: String) -> String {
        LiveFrame(.error, LiveFrames.Problem(code: code, message: message)).text
    }

    /// One frame from the client; every problem is answered with an `error` frame. The connection is closed only
    /// when a write frame finds the session ended or the access gone (`current`).
    func handle(
        _ text: String, from me: Person, connection: LiveConnection, context: LiveRequestContext,
        reply: LiveConnection
    ) async {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let tipo = object["tipo"] as? String ?? object["type"] as? String
        else {
            reply.send(Self.error("json_invalido", "El mensaje no es JSON válido con un campo 'tipo'"))
            return
        }
        let data = object["data"] as? [String: Any] ?? [:]
        let ticketID = context.ticketID
        switch tipo {
        case "mensaje":
            await sendMessage(data, ticketID: ticketID, context: context, connection: connection, reply: reply)
        case "typing_start", "typing_stop":
            let start = tipo == "typing_start"
            guard connection.admitsTyping(start: start, at: conversations.clock.now()),
                await current(context, connection, reply: reply) != nil
            else { return }
            conversations.live.send(
                LiveEvent(
                    ticketID: ticketID, kind: start ? .typingStart : .typingStop, userID: me.id,
                    userName: me.name, userKind: me.kind, origin: connection.id))
        case "heartbeat":
            reply.send(
                LiveFrame(.heartbeat, LiveFrames.Heartbeat(timestamp: Date(), received: data["timestamp"] as? String))
                    .text)
        case "file_upload_request":
            guard let caller = await current(context, connection, reply: reply) else { return }
            reply.send(await authorizeUpload(data, ticketID: ticketID, caller: caller, connection: connection.id))
        default:
            reply.send(Self.error("tipo_desconocido", "Tipo de mensaje desconocido: \(tipo.prefix(40))"))
        }
    }

    /// Before a write frame: the caller as the database sees them now. Nil after closing the socket (the session
    /// ended, or the access policy no longer lets them read this chat) or answering an error frame (the database
    /// did not answer).
    func current(_ context: LiveRequestContext, _ connection: LiveConnection, reply: LiveConnection)
        async -> Caller?
    {
        guard let credential = context.credential else { return context.caller }
        do {
            switch try await sessions.authorize(credential, ticketID: context.ticketID, to: .read) {
            case .success(let caller):
                return caller
            case .failure(let refusal):
                connection.close(refusal)
                reply.finish()
                return nil
            }
        } catch {
            reply.send(Self.error("error_interno", "No se pudo comprobar la sesión; intenta de nuevo"))
            return nil
        }
    }

    func sendMessage(
        _ data: [String: Any], ticketID: Int64, context: LiveRequestContext, connection: LiveConnection,
        reply: LiveConnection
    ) async {
        let text = (data["mensaje"] as? String ?? data["contenido"] as? String ?? "").trimmingCharacters(
            in: .whitespacesAndNewlines)
        let clientID = (data["client_id"] as? String).flatMap { $0.isEmpty || $0.count > 100 ? nil : $0 }
        let replyTo = (data["responde_a"] as? Int).map(Int64.init)
        guard !text.isEmpty, text.count <= Parameters.maximumMessageLength else {
            reply.send(
                Self.error(
                    "mensaje_invalido", "El mensaje debe tener de 1 a \(Parameters.maximumMessageLength) caracteres"))
            return
        }
        guard let caller = await current(context, connection, reply: reply) else { return }
        do {
            let posted = try await conversations.post(
                text, clientID: clientID, by: caller, in: ticketID,
                address: context.clientAddress.rateLimitKey, replyTo: replyTo)
            let confirmation = LiveFrames.Confirmation(
                clientID: clientID, messageID: posted.messageID, timestamp: Date(), repeated: posted.repeated)
            reply.send(LiveFrame(.messageConfirmed, confirmation).text)
        } catch let problem as ConversationProblem {
            reply.send(Self.error(problem.liveError.code, problem.liveError.message))
        } catch {
            reply.send(Self.error("error_interno", "No se pudo guardar el mensaje; intenta de nuevo"))
        }
    }

    /// An upload grant, for a caller the access policy lets upload to this ticket (not when it is closed).
    /// At most `UploadGrants.Limits.perConnection` unused grants per connection.
    func authorizeUpload(_ data: [String: Any], ticketID: Int64, caller: Caller?, connection: String? = nil) async
        -> String
    {
        let size = (data["tamaño"] as? Int) ?? (data["tamano"] as? Int) ?? (data["size"] as? Int) ?? -1
        let mime = data["tipo_mime"] as? String ?? ""
        guard size > 0, size <= UploadGrants.maximumSize else {
            return Self.error("archivo_muy_grande", "El archivo debe pesar como máximo 16 MB")
        }
        guard UploadGrants.allowedTypes.contains(mime) else {
            return Self.error("tipo_no_permitido", "Tipos permitidos: jpg, png, pdf, doc, docx")
        }
        guard let caller else { return Self.error("sin_permiso", "No autorizado") }
        do {
            _ = try await conversations.ticket(id: ticketID, for: caller, to: .upload)
        } catch let problem as ConversationProblem {
            return Self.error(problem.liveError.code, problem.liveError.message)
        } catch {
            return Self.error("error_interno", "No se pudo autorizar la subida; intenta de nuevo")
        }
        let token: String
        do {
            token = try uploads.grant(ticketID: ticketID, caller: caller, connection: connection, shared: true)
        } catch {
            return Self.error(
                "demasiadas_subidas",
                error == .connectionFull
                    ? "Ya tienes \(uploads.limits.perConnection) subidas autorizadas sin usar; súbelas o espera 5 minutos"
                    : "El servidor tiene demasiadas subidas pendientes; intenta más tarde")
        }
        // The file's POST may reach another instance (behind a balancer): it finds the grant in the database.
        do {
            try await UploadGrantStore(conversations).save(token, ticketID: ticketID, caller: caller)
        } catch {
            _ = uploads.take(token, ticketID: ticketID)
            return Self.error("error_interno", "No se pudo autorizar la subida; intenta de nuevo")
        }
        let authorized = LiveFrames.UploadAuthorized(
            uploadURL: "/api/soporte/tickets/\(ticketID)/chat/upload/?upload_token=\(token)",
            filename: data["nombre_archivo"] as? String)
        return LiveFrame(.uploadAuthorized, authorized).text
    }
}
