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
        let frames: AsyncStream<String>.Continuation
    }

    private struct Room {
        var clients: [String: Client] = [:]
        /// The newest message each client has (from its initial history or pushed since): a poke pushes each
        /// client exactly what it does not have yet, however the pokes and joins interleave.
        var lastMessageID: [String: Int64] = [:]
    }

    private var rooms: [Int64: Room] = [:]
    private let messages: Messages
    private let logger: Logger

    init(messages: Messages, logger: Logger) {
        self.messages = messages
        self.logger = logger
    }

    var connectionCount: Int { rooms.values.reduce(0) { $0 + $1.clients.count } }

    /// Adds a client to a room; the room starts from `lastMessageID` (what the client was given on connecting).
    func join(ticketID: Int64, client: Client, lastMessageID: Int64) {
        rooms[ticketID, default: Room()].clients[client.id] = client
        rooms[ticketID, default: Room()].lastMessageID[client.id] = lastMessageID
    }

    func leave(ticketID: Int64, clientID: String) {
        rooms[ticketID]?.clients[clientID]?.frames.finish()
        rooms[ticketID]?.clients[clientID] = nil
        rooms[ticketID]?.lastMessageID[clientID] = nil
        if rooms[ticketID]?.clients.isEmpty == true { rooms[ticketID] = nil }
    }

    /// Who is in a room right now (this instance's view).
    func participants(ticketID: Int64) -> [Client] {
        Array(rooms[ticketID]?.clients.values ?? [:].values)
    }

    func handle(_ event: LiveEvent) async {
        guard let room = rooms[event.ticketID], !room.clients.isEmpty else { return }
        switch event.kind {
        case .messages, .agentJoined, .agentLeft, .chatTransferred, .status:
            let after = room.lastMessageID.values.min() ?? 0
            let messages = (try? await messages.after(after, ticketID: event.ticketID)) ?? []
            // Re-read after the await: other pokes and joins may have moved clients on meanwhile.
            if !messages.isEmpty, let current = rooms[event.ticketID] {
                for (clientID, client) in current.clients {
                    let last = current.lastMessageID[clientID] ?? 0
                    let missing = messages.filter { $0.id > last }
                    guard let newest = missing.last?.id else { continue }
                    for message in missing {
                        client.frames.yield(LiveFrame(.messageReceived, LiveMessageJSON(message)).text)
                    }
                    rooms[event.ticketID]?.lastMessageID[clientID] = newest
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
        case .fileUploaded:
            await handle(LiveEvent(ticketID: event.ticketID, kind: .messages))
            guard let id = event.messageID, let message = try? await messages.find(id, ticketID: event.ticketID)
            else {
                return
            }
            broadcast(ticketID: event.ticketID, LiveFrame(.fileUploaded, LiveFrames.FileUploaded(message)).text)
        case .delivery:
            guard let id = event.messageID,
                let message = try? await messages.find(id, ticketID: event.ticketID)
            else { return }
            broadcast(ticketID: event.ticketID, LiveFrame(.deliveryStatus, LiveFrames.Delivery(message)).text)
        case .typingStart, .typingStop:
            let type: LiveFrameType = event.kind == .typingStart ? .typingStarted : .typingStopped
            broadcast(
                ticketID: event.ticketID, LiveFrame(type, LiveFrames.Typing(user: LiveFrames.User(event))).text,
                except: event.origin)
        }
    }

    func broadcast(ticketID: Int64, _ frame: String, except: String? = nil) {
        for client in rooms[ticketID]?.clients.values ?? [:].values where client.id != except {
            client.frames.yield(frame)
        }
    }
}
