import Foundation
import MostradorContracts
import MostradorSQL
import TestSupport
import Testing

@testable import MostradorAPI

/// A WebSocket client that falls too far behind is told to resync, never silently skipped ahead (review R15), and
/// one that connects while a delivery report is being applied still learns it (the `test_02_chat_send` flake).
@Suite("WebSocket clients that fall behind or join mid-change")
struct WebSocketResyncTests {
    /// A client that does not read while hundreds of messages are pushed: once it reads, it gets the frames that
    /// were waiting, then `resync` and a close with 1013 — and the conversation it reloads holds every message.
    @Test func aClientThatDoesNotReadIsToldToResync() async throws {
        try await APITestSystem.with(transport: .live, configure: { $0.webSocketFrameBuffer = 16 }) { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("no enciende")
            let url = try api.webSocketURL(ticket: chat.room, token: WebSocketTests.token(admin))
            let socket = try RawWebSocket(url: url, receiveBuffer: 4096)
            defer { socket.close() }
            #expect(await eventually { await api.hub.participants(ticketID: chat.ticket).count == 1 })

            // 600 messages of 1 KB: far more than the socket buffers and the 16 frames that may wait.
            let filler = String(repeating: "x", count: 1000)
            for chunk in 0..<6 {
                try await api.components.committer.write { db in
                    let ticket = try #require(try TicketFacts.fetch(id: chat.ticket, db: db))
                    for index in 0..<100 {
                        _ = try Messages.insert(
                            NewMessage(role: .user, content: "m\(chunk * 100 + index) \(filler)"), on: ticket, db: db)
                    }
                }
                await api.hub.handle(LiveEvent(ticketID: chat.ticket, kind: .messages))
            }

            let frames = try await socket.readUntilClose(timeout: .seconds(60))
            let kinds = frames.texts.compactMap { text in
                (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["tipo"] as? String
            }
            let received = kinds.filter { $0 == "mensaje_recibido" }.count
            #expect(kinds.first == "connection_established")
            #expect(kinds.last == "resync", "\(kinds.suffix(3))")
            #expect(received < 600)
            #expect(frames.closeCode == 1013)

            // The reload: every message is in the conversation.
            let history = try await api.call(
                .get, "/api/chatrooms/\(chat.room)/messages/?desde=0", authorization: chat.authorization)
            #expect(try history.list().count == 601)
        }
    }

    /// A connection that keeps up is never told to resync: every message arrives as a frame.
    @Test func aClientThatReadsGetsEveryMessage() async throws {
        try await APITestSystem.with(transport: .live, configure: { $0.webSocketFrameBuffer = 16 }) { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("no enciende")
            let client = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: WebSocketTests.token(admin)))
            defer { client.close() }
            #expect(await client.wait(for: "connection_established") != nil)
            for index in 0..<40 {
                try await api.components.committer.write { db in
                    let ticket = try #require(try TicketFacts.fetch(id: chat.ticket, db: db))
                    _ = try Messages.insert(NewMessage(role: .user, content: "m\(index)"), on: ticket, db: db)
                }
                await api.hub.handle(LiveEvent(ticketID: chat.ticket, kind: .messages))
                #expect(await eventually { client.frames("mensaje_recibido").count == index + 1 })
            }
            #expect(client.frames("resync").isEmpty)
        }
    }

    /// The hub keeps at most `capacity` frames for a socket; one more marks it behind and ends its frames.
    @Test func aFullSocketIsMarkedBehindAndTakesNoMoreFrames() async {
        let socket = LiveConnection(capacity: 3)
        for index in 0..<3 { socket.send("f\(index)") }
        #expect(!socket.isBehind)
        socket.send("f3")
        #expect(socket.isBehind)
        socket.send("f4")
        var queued: [String] = []
        for await frame in socket.frames { queued.append(frame) }
        #expect(queued == ["f0", "f1", "f2"])
    }

    /// The window of the flake: the history a socket is given is read, then the relay's report is applied and
    /// announced before the socket has joined its room (so the broadcast misses it). Joining catches up with the
    /// status, instead of leaving the technician's bubble at `queued`.
    @Test func aDeliveryReportBetweenHistoryAndJoinStillReachesTheSocket() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat("no enciende")
            let messageID = try await api.components.committer.write { db in
                let ticket = try #require(try TicketFacts.fetch(id: chat.ticket, db: db))
                return try Messages.insert(
                    NewMessage(role: .tecnico, content: "¿Probaste con otro cargador?", deliveryStatus: .queued),
                    on: ticket, db: db)
            }
            let hub = LiveHub(messages: api.components.conversations.messages, logger: .init(label: "t"))
            // 1. The socket reads the history it is given on connecting: the message is `queued`.
            let history = try await api.components.conversations.messages.recent(
                ticketID: chat.ticket, count: 50, for: .customer)
            #expect(history.last?.deliveryStatus == .queued)
            // 2. The relay's report is applied and announced; nobody is in the room yet.
            try await api.components.conversations.applyDelivery(
                DeliveryUpdated(ticketID: chat.ticket, messageID: messageID, status: .sent, attempt: 1),
                amqpMessageID: UUID().uuidString.lowercased(), consumer: "test")
            await hub.handle(LiveEvent(ticketID: chat.ticket, kind: .delivery, messageID: messageID))
            // 3. The socket joins, and catches up.
            let socket = LiveConnection(id: "panel")
            await hub.join(
                ticketID: chat.ticket,
                client: .init(id: "panel", userID: "agente", name: "Técnico", kind: "AGENTE", socket: socket),
                lastMessageID: history.last?.id ?? 0)
            await hub.catchUp(ticketID: chat.ticket, clientID: "panel", history: history)
            socket.finish()

            var statuses: [String] = []
            for await text in socket.frames {
                let frame = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                guard frame["tipo"] as? String == "estado_entrega", let data = frame["data"] as? [String: Any],
                    data["mensaje_id"] as? Int == Int(messageID)
                else { continue }
                statuses.append(data["estado_entrega"] as? String ?? "")
            }
            #expect(statuses == ["sent"])
        }
    }
}

/// A WebSocket client on a plain socket that reads only when asked: it stands for a browser tab that stopped
/// reading (a frozen tab, a slow phone). Reads run on a thread of their own, off the cooperative pool.
final class RawWebSocket: @unchecked Sendable {
    private let descriptor: Int32

    struct Received: Sendable {
        var texts: [String] = []
        var closeCode: Int?
    }

    /// Connects to `url` (`ws://localhost:PORT/path?query`) with a small receive buffer and sends the upgrade.
    init(url: String, receiveBuffer: Int32) throws {
        guard let parsed = URLComponents(string: url), let port = parsed.port else { throw Failure("bad url \(url)") }
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("socket: \(errno)") }
        var size = receiveBuffer
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure("connect: \(errno)") }
        let path = parsed.percentEncodedPath + (parsed.percentEncodedQuery.map { "?\($0)" } ?? "")
        let request =
            "GET \(path) HTTP/1.1\r\nHost: localhost:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw Failure("send: \(errno)")
        }
    }

    func close() { Glibc.shutdown(descriptor, Int32(SHUT_RDWR)) }

    /// Reads the upgrade answer, then frames until a close frame (or the end of the stream, or `timeout`).
    func readUntilClose(timeout: Duration) async throws -> Received {
        var seconds = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { [self] in continuation.resume(with: Result { try self.readFrames() }) }
            thread.start()
        }
    }

    private func readFrames() throws -> Received {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill(_ count: Int) throws -> Bool {
            while buffer.count < count {
                let read = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if read <= 0 { return false }
                buffer += chunk[0..<read]
            }
            return true
        }
        // The HTTP answer to the upgrade.
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                guard head.hasPrefix("HTTP/1.1 101") else { throw Failure("upgrade refused: \(head)") }
                buffer.removeSubrange(..<end.upperBound)
                break
            }
            guard try fill(buffer.count + 1) else { throw Failure("closed during the upgrade") }
        }
        var received = Received()
        while try fill(2) {
            let opcode = buffer[0] & 0x0F
            var length = Int(buffer[1] & 0x7F)
            var header = 2
            if length == 126 {
                guard try fill(4) else { break }
                length = Int(buffer[2]) << 8 | Int(buffer[3])
                header = 4
            } else if length == 127 {
                guard try fill(10) else { break }
                length = buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }
                header = 10
            }
            guard try fill(header + length) else { break }
            let payload = Array(buffer[header..<header + length])
            buffer.removeSubrange(..<(header + length))
            switch opcode {
            case 0x1: received.texts.append(String(decoding: payload, as: UTF8.self))
            case 0x8:
                if payload.count >= 2 { received.closeCode = Int(payload[0]) << 8 | Int(payload[1]) }
                return received
            default: continue
            }
        }
        return received
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
