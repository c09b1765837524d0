import Foundation
import Logging

/// The WebSocket clients connected to this instance, by ticket, and what to push them when a poke arrives.
actor LiveHub {
    struct Client: Sendable {
        let id: String
        let userID: String
        let name: String
        /// `AGENTE` or `CLIENTE`.
        let kind: String
        /// The socket its frames go to.
        let socket: LiveConnection
        /// What the socket was opened with and from where (counted against `Limits`; nil: not counted).
        var credential: LiveCredential? = nil
        var address: String? = nil
        /// Asks again whether the socket may stay open (its session, the access policy); nil: never asked.
        var verify: (@Sendable () async -> LiveRefusal?)? = nil
        /// Tells the socket why it is being closed (it sends an `error` frame and closes with 1008).
        var close: @Sendable (LiveRefusal) -> Void = { _ in }
    }

    /// Sockets one token (agent session or room) and one client address may hold open at once on this instance.
    struct Limits: Sendable {
        var perCredential = Int.max
        var perAddress = Int.max

        static let unlimited = Limits()
    }

    private struct Room {
        var clients: [String: Client] = [:]
        /// The newest message each client has (from its initial history or pushed since): a poke pushes each
        /// client exactly what it does not have yet, however the pokes and joins interleave.
        var lastMessageID: [String: Int64] = [:]
    }

    private var rooms: [Int64: Room] = [:]
    private var perCredential: [LiveCredential: Int] = [:]
    private var perAddress: [String: Int] = [:]
    private let messages: Messages
    private let logger: Logger

    init(messages: Messages, logger: Logger) {
        self.messages = messages
        self.logger = logger
    }

    var connectionCount: Int { rooms.values.reduce(0) { $0 + $1.clients.count } }

    /// Whether one more socket with this credential and address stays within `limits` (a check before the
    /// upgrade; `join` decides).
    func admits(credential: LiveCredential?, address: String?, limits: Limits) -> LiveRefusal? {
        if let credential, perCredential[credential, default: 0] >= limits.perCredential { return .tooManyForToken }
        if let address, perAddress[address, default: 0] >= limits.perAddress { return .tooManyForAddress }
        return nil
    }

    /// Adds a client to a room, unless its credential or address already holds `limits` sockets; the room starts
    /// from `lastMessageID` (what the client was given on connecting).
    @discardableResult
    func join(ticketID: Int64, client: Client, lastMessageID: Int64, limits: Limits = .unlimited) -> LiveRefusal? {
        if let refusal = admits(credential: client.credential, address: client.address, limits: limits) {
            return refusal
        }
        if let credential = client.credential { perCredential[credential, default: 0] += 1 }
        if let address = client.address { perAddress[address, default: 0] += 1 }
        rooms[ticketID, default: Room()].clients[client.id] = client
        rooms[ticketID, default: Room()].lastMessageID[client.id] = lastMessageID
        return nil
    }

    /// After `join`: what changed since `history` (the messages the client was given on connecting) was read.
    /// New messages are pushed; so are the delivery statuses that changed meanwhile, because a report handled
    /// before the join was broadcast without this client (the panel's bubble then stayed `queued`).
    func catchUp(ticketID: Int64, clientID: String, history: [MessageRow]) async {
        await handle(LiveEvent(ticketID: ticketID, kind: .messages))
        guard !history.isEmpty,
            let now = try? await messages.recent(ticketID: ticketID, count: history.count + 50, for: .agents),
            let client = rooms[ticketID]?.clients[clientID]
        else { return }
        let given = Dictionary(history.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for message in now {
            guard let before = given[message.id],
                before.deliveryStatus != message.deliveryStatus || before.deliveryAttempt != message.deliveryAttempt
                    || before.deliveryError != message.deliveryError
            else { continue }
            client.socket.send(LiveFrame(.deliveryStatus, LiveFrames.Delivery(message)).text)
        }
    }

    func leave(ticketID: Int64, clientID: String) {
        guard let client = rooms[ticketID]?.clients.removeValue(forKey: clientID) else { return }
        client.socket.finish()
        if let credential = client.credential { Self.release(credential, in: &perCredential) }
        if let address = client.address { Self.release(address, in: &perAddress) }
        rooms[ticketID]?.lastMessageID[clientID] = nil
        if rooms[ticketID]?.clients.isEmpty == true { rooms[ticketID] = nil }
    }

    private static func release<Key: Hashable>(_ key: Key, in counts: inout [Key: Int]) {
        let remaining = counts[key, default: 1] - 1
        counts[key] = remaining > 0 ? remaining : nil
    }

    /// Asks every client `matching` (in `ticketID`'s room, or in all rooms) whether it may stay, and closes those
    /// refused: after an agent's sessions change, a chat changes hands, or on the periodic sweep.
    func reverify(ticketID: Int64? = nil, where matching: (Client) -> Bool) async {
        let candidates = rooms.filter { ticketID == nil || $0.key == ticketID }.flatMap { room in
            room.value.clients.values.filter { $0.verify != nil && matching($0) }.map { (room.key, $0) }
        }
        for (ticketID, client) in candidates {
            guard let refusal = await client.verify?() else { continue }
            // The client may have left during the check.
            guard rooms[ticketID]?.clients[client.id] != nil else { continue }
            client.close(refusal)
            leave(ticketID: ticketID, clientID: client.id)
        }
    }

    /// The periodic check of every agent's socket: sessions expire, and a revocation poke may have been lost.
    func sweep() async {
        await reverify {
            if case .session = $0.credential { true } else { false }
        }
    }

    /// Who is in a room right now (this instance's view).
    func participants(ticketID: Int64) -> [Client] {
        Array(rooms[ticketID]?.clients.values ?? [:].values)
    }

    func handle(_ event: LiveEvent) async {
        if event.kind == .sessionsRevoked {
            if let agent = event.userID { await reverify { $0.userID == agent } }
            return
        }
        guard let room = rooms[event.ticketID], !room.clients.isEmpty else { return }
        switch event.kind {
        case .messages, .agentJoined, .agentLeft, .chatTransferred, .status:
            let after = room.lastMessageID.values.min() ?? 0
            // Private notes are read with the rest and pushed to agents only.
            let messages = (try? await messages.after(after, ticketID: event.ticketID, for: .agents)) ?? []
            // Re-read after the await: other pokes and joins may have moved clients on meanwhile.
            if !messages.isEmpty, let current = rooms[event.ticketID] {
                // Each message is encoded once, however many clients it goes to (a room of 1,000 sockets encoded
                // it 1,000 times).
                var frames: [String?] = Array(repeating: nil, count: messages.count)
                for (clientID, client) in current.clients {
                    let last = current.lastMessageID[clientID] ?? 0
                    guard let first = messages.firstIndex(where: { $0.id > last }) else { continue }
                    for index in first..<messages.count where client.kind == "AGENTE" || !messages[index].isNote {
                        let frame = frames[index] ?? LiveFrame(.messageReceived, LiveMessageJSON(messages[index])).text
                        frames[index] = frame
                        client.socket.send(frame)
                    }
                    rooms[event.ticketID]?.lastMessageID[clientID] = messages[messages.count - 1].id
                }
            }
            switch event.kind {
            case .agentJoined:
                broadcast(ticketID: event.ticketID, LiveFrame(.agentJoined, LiveFrames.People(event, at: Date())).text)
            case .agentLeft:
                broadcast(ticketID: event.ticketID, LiveFrame(.agentLeft, LiveFrames.People(event, at: Date())).text)
            case .chatTransferred:
                broadcast(
                    ticketID: event.ticketID, LiveFrame(.chatTransferred, LiveFrames.Transfer(event, at: Date())).text)
            default:
                break
            }
            // A chat that changed hands may be closed to the agents who had it open.
            if [.agentJoined, .agentLeft, .chatTransferred].contains(event.kind) {
                await reverify(ticketID: event.ticketID) { $0.kind == "AGENTE" }
            }
        case .fileUploaded:
            await handle(LiveEvent(ticketID: event.ticketID, kind: .messages))
            guard let id = event.messageID,
                let message = try? await messages.find(id, ticketID: event.ticketID, for: .customer)
            else {
                return
            }
            broadcast(ticketID: event.ticketID, LiveFrame(.fileUploaded, LiveFrames.FileUploaded(message)).text)
        case .delivery:
            guard let id = event.messageID,
                let message = try? await messages.find(id, ticketID: event.ticketID, for: .customer)
            else { return }
            broadcast(ticketID: event.ticketID, LiveFrame(.deliveryStatus, LiveFrames.Delivery(message)).text)
        case .typingStart, .typingStop:
            let type: LiveFrameType = event.kind == .typingStart ? .typingStarted : .typingStopped
            broadcast(
                ticketID: event.ticketID, LiveFrame(type, LiveFrames.Typing(user: LiveFrames.User(event))).text,
                except: event.origin)
        case .sessionsRevoked:
            break
        }
    }

    func broadcast(ticketID: Int64, _ frame: String, except: String? = nil) {
        for client in rooms[ticketID]?.clients.values ?? [:].values where client.id != except {
            client.socket.send(frame)
        }
    }
}
