import Foundation
import TestSupport
import Testing

/// Slowloris and connection exhaustion against the real api (security review I2, test 17): a header sent a byte at a
/// time is cut off after the idle timeout, ordinary requests and WebSockets carry on meanwhile, and connections
/// over `MOSTRADOR_MAX_CONNECTIONS` are not taken until one closes.
@Suite("Connection hygiene of the public port")
struct ConnectionHygieneTests {
    @Test func slowHeadersAreCutOffWhileOthersAreServed() async throws {
        try await MostradorSystem.with(relay: false, environment: ["MOSTRADOR_HTTP_IDLE_TIMEOUT_SECONDS": "1"]) {
            system in
            let port = system.api.port
            let chat = try await system.guestChat()
            let token = String(chat.authorization.dropFirst("Room ".count))
            let live = LiveClient(url: system.webSocketURL(ticket: chat.room, token: token))
            defer { live.close() }
            #expect(await live.wait(for: "connection_established") != nil)

            // 200 clients that start a request and never finish its header.
            var slow: [RawConnection] = []
            for _ in 0..<200 {
                let connection = try RawConnection(port: port)
                connection.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lento: ")
                slow.append(connection)
            }
            defer { slow.forEach { $0.close() } }
            for _ in 0..<3 {
                let normal = try await HTTP.get("\(system.baseURL)/health/live")
                #expect(normal.status == 200)
            }

            // They keep trickling a byte at a time; the server closes every one of them anyway.
            let deadline = ContinuousClock.now + .seconds(20)
            while slow.contains(where: { !$0.isClosedByPeer }), ContinuousClock.now < deadline {
                for connection in slow where !connection.isClosedByPeer { connection.send("a") }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(slow.filter { !$0.isClosedByPeer }.count == 0)
            #expect(slow.allSatisfy { $0.received.isEmpty }, "a slow client got an answer")

            // A kept-alive connection left idle after its answer is closed too.
            let idle = try RawConnection(port: port)
            defer { idle.close() }
            idle.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(await idle.waitFor { $0.hasPrefix("HTTP/1.1 200") })
            #expect(await idle.waitUntilClosed(within: .seconds(20)))

            // The WebSocket, quiet for longer than the idle timeout, is still there.
            try await Task.sleep(for: .seconds(2))
            #expect(live.isConnected)
            let reply = "sigo aquí"
            live.send("mensaje", ["mensaje": reply, "client_id": UUID().uuidString])
            #expect(await live.wait(for: "mensaje_confirmado") != nil, "the WebSocket was cut off")
        }
    }

    @Test func connectionsOverTheCapWaitUntilOneCloses() async throws {
        try await MostradorSystem.with(relay: false, environment: ["MOSTRADOR_MAX_CONNECTIONS": "3"]) { system in
            let port = system.api.port
            let request = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            var first: [RawConnection] = []
            defer { first.forEach { $0.close() } }
            for _ in 0..<3 {
                let connection = try RawConnection(port: port)
                connection.send(request)
                #expect(await connection.waitFor { $0.hasPrefix("HTTP/1.1 200") })
                first.append(connection)
            }

            let fourth = try RawConnection(port: port)
            defer { fourth.close() }
            fourth.send(request)
            #expect(!(await fourth.waitFor(within: .seconds(2)) { !$0.isEmpty }), "served over the cap")
            #expect(!fourth.isClosedByPeer)

            first[0].close()
            #expect(await fourth.waitFor { $0.hasPrefix("HTTP/1.1 200") }, "never served after a slot freed")
            for connection in first.dropFirst() {
                connection.reset()
                connection.send(request)
                #expect(await connection.waitFor { $0.hasPrefix("HTTP/1.1 200") }, "an accepted connection was dropped")
            }
        }
    }
}

/// A plain TCP connection to 127.0.0.1, for requests no HTTP client would send. Non-blocking after connect.
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32
    private var isOpen = true
    private(set) var received = ""
    private(set) var isClosedByPeer = false

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        if Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) < 0, errno != EAGAIN {
            isClosedByPeer = true
        }
        poll()
    }

    /// Reads what arrived; notes an end of stream or a reset.
    func poll() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !isClosedByPeer {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                received += String(decoding: buffer[0..<count], as: UTF8.self)
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                isClosedByPeer = true
            } else {
                return
            }
        }
    }

    /// Forgets what was received so far.
    func reset() { received = "" }

    /// Whether what was received comes to satisfy `condition` within `within`.
    func waitFor(within timeout: Duration = .seconds(20), _ condition: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            poll()
            if condition(received) { return true }
            if isClosedByPeer || ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    func waitUntilClosed(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isClosedByPeer, ContinuousClock.now < deadline {
            poll()
            try? await Task.sleep(for: .milliseconds(50))
        }
        return isClosedByPeer
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        Glibc.close(descriptor)
    }
}
