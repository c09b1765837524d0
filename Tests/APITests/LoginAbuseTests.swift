import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import MostradorAPI

/// Login under attack (review A4, test 16): lockout per username and per client with an injected clock, and a
/// login flood against a one-thread bcrypt pool that answers 429 instead of queueing while static files still load.
@Suite struct LoginAbuseTests {
    /// Requests from 127.0.0.1/::1 (the test's own connection) are a trusted proxy's, so `X-Forwarded-For` says who
    /// the client is.
    static func behindProxy(_ settings: inout APISettings) {
        settings.trustedProxies = TrustedProxies(networks: [IPNetwork("127.0.0.1")!, IPNetwork("::1")!])
    }

    static func login(
        _ api: APITestSystem, _ username: String, _ password: String, from client: String? = nil
    ) async throws -> APITestSystem.Reply {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let client { headers[.xForwardedFor] = client }
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        let response = try await api.client.execute(
            uri: "/api/auth/login/", method: .post, headers: headers, body: ByteBuffer(data: body))
        return APITestSystem.Reply(
            status: Int(response.status.code), body: Data(buffer: response.body), headers: response.headers)
    }

    static func expectLockedOut(_ reply: APITestSystem.Reply, window: Int = 15 * 60) throws {
        #expect(reply.status == 429, "\(reply.text)")
        let wait = try #require(reply.headers[.retryAfter].flatMap(Int.init))
        #expect((1...window).contains(wait))
        #expect(reply.failure?.error?.hasPrefix("Demasiados intentos fallidos de inicio de sesión") == true)
        #expect(reply.failure?.detail == reply.failure?.error)
    }

    // MARK: Lockout

    @Test func wrongPasswordsLockTheUsernameUntilTheWindowPasses() async throws {
        try await APITestSystem.with(transport: .live, configure: Self.behindProxy) { api in
            _ = try await api.agent("tecnico")
            for _ in 1...5 {
                #expect(try await Self.login(api, "tecnico", "adivinanza", from: "203.0.113.1").status == 401)
            }
            // Locked: the right password too, from anywhere, in any case; refused tries do not extend the lock.
            try Self.expectLockedOut(try await Self.login(api, "tecnico", "password123", from: "203.0.113.1"))
            for _ in 1...10 {
                try Self.expectLockedOut(try await Self.login(api, "TECNICO", "password123", from: "198.51.100.4"))
            }
            // Another username from another client is not affected.
            let admin = try await Self.login(
                api, APITestSystem.adminUser, APITestSystem.adminPassword, from: "203.0.113.2")
            #expect(admin.status == 200, "\(admin.text)")

            api.clock.advance(by: 14 * 60)
            try Self.expectLockedOut(try await Self.login(api, "tecnico", "password123", from: "203.0.113.1"))
            api.clock.advance(by: 60 + 1)
            let unlocked = try await Self.login(api, "tecnico", "password123", from: "203.0.113.1")
            #expect(unlocked.status == 200, "\(unlocked.text)")
        }
    }

    @Test func aSuccessfulLoginStartsTheUsernameCountAfresh() async throws {
        try await APITestSystem.with { api in
            _ = try await api.agent("tecnica")
            for _ in 1...2 {
                for _ in 1...4 { #expect(try await Self.login(api, "tecnica", "mal").status == 401) }
                #expect(try await Self.login(api, "tecnica", "password123").status == 200)
            }
            for _ in 1...5 { #expect(try await Self.login(api, "tecnica", "mal").status == 401) }
            try Self.expectLockedOut(try await Self.login(api, "tecnica", "password123"))
        }
    }

    @Test func oneClientIsLimitedAcrossManyUsernames() async throws {
        try await APITestSystem.with(transport: .live, configure: Self.behindProxy) { api in
            for index in 1...20 {
                #expect(try await Self.login(api, "nadie\(index)", "x", from: "198.51.100.7").status == 401)
            }
            try Self.expectLockedOut(
                try await Self.login(api, APITestSystem.adminUser, APITestSystem.adminPassword, from: "198.51.100.7"))
            let elsewhere = try await Self.login(
                api, APITestSystem.adminUser, APITestSystem.adminPassword, from: "198.51.100.8")
            #expect(elsewhere.status == 200, "\(elsewhere.text)")
            // A successful login does not use up its client's allowance: the admin goes on logging in.
            for _ in 1...3 {
                let again = try await Self.login(
                    api, APITestSystem.adminUser, APITestSystem.adminPassword, from: "198.51.100.8")
                #expect(again.status == 200)
            }
        }
    }

    @Test func rotatingAddressesInOneIPv6Slash64IsOneClient() async throws {
        try await APITestSystem.with(
            transport: .live,
            configure: {
                Self.behindProxy(&$0)
                $0.loginFailuresPerClient = 3
            }
        ) { api in
            for index in 1...3 {
                #expect(try await Self.login(api, "nadie\(index)", "x", from: "2001:db8:7:7::\(index)").status == 401)
            }
            try Self.expectLockedOut(try await Self.login(api, "nadie9", "x", from: "2001:db8:7:7:ffff::1"))
            #expect(try await Self.login(api, "nadie9", "x", from: "2001:db8:7:8::1").status == 401)
        }
    }

    @Test func aForwardedForFromAnUntrustedPeerDoesNotBuyMoreTries() async throws {
        try await APITestSystem.with(transport: .live, configure: { $0.loginFailuresPerClient = 3 }) { api in
            for index in 1...3 {
                #expect(try await Self.login(api, "nadie\(index)", "x", from: "203.0.113.\(index)").status == 401)
            }
            try Self.expectLockedOut(
                try await Self.login(api, APITestSystem.adminUser, APITestSystem.adminPassword, from: "203.0.113.50"))
        }
    }

    // MARK: The bcrypt pool

    @Test func theDecoyHashExistsAsSoonAsTheApiIsBuilt() async throws {
        try await APITestSystem.with { api in
            let decoy = try await api.components.passwords.decoyHash
            #expect(decoy.hasPrefix("$2b$10$") && decoy.count == 60)
            let unknown = try await Self.login(api, "nadie", "x")
            #expect(unknown.status == 401)
            #expect(try await api.components.passwords.decoyHash == decoy)
        }
    }

    /// One login on its own connection, as a browser or an attacker's script opens them.
    static func fetch(_ port: Int, _ path: String, method: HTTPRequest.Method = .get, json: String? = nil)
        async throws -> TestClient.Response
    {
        try await TestClient.withClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(60))) {
            client in
            try await client.execute(
                .init(
                    path, method: method, authority: "localhost",
                    headers: json == nil ? [:] : [.contentType: "application/json"],
                    body: json.map { ByteBuffer(string: $0) }))
        }
    }

    static func floodLogin(_ port: Int, _ index: Int) async throws -> TestClient.Response {
        try await fetch(
            port, "/api/auth/login/", method: .post, json: #"{"username": "bot\#(index)", "password": "x"}"#)
    }

    static func flooded(_ settings: inout APISettings) {
        settings.bcryptThreads = 1
        settings.bcryptQueue = 2
        settings.loginFailuresPerUser = 10_000
        settings.loginFailuresPerClient = 10_000
    }

    @Test func aLoginFloodGets429sNot5xx() async throws {
        try await APITestSystem.with(transport: .live, configure: Self.flooded) { api in
            let port = try #require(api.client.port)
            let statuses = try await withThrowingTaskGroup(of: TestClient.Response.self) { group in
                for index in 0..<200 { group.addTask { try await Self.floodLogin(port, index) } }
                return try await group.reduce(into: [TestClient.Response]()) { $0.append($1) }
            }
            #expect(statuses.count == 200)
            #expect(statuses.allSatisfy { [401, 429].contains($0.status.code) }, "\(statuses.map(\.status.code))")
            let busy = statuses.filter { $0.status == .tooManyRequests }
            #expect(!busy.isEmpty && busy.count < 200)
            #expect(busy.allSatisfy { $0.headers[.retryAfter] == "1" })
            let answer = busy.first?.body.map { String(buffer: $0) } ?? ""
            #expect(answer.contains("El servidor está ocupado"), "\(answer)")
        }
    }

    /// The proof that static files never wait on bcrypt: its only thread is held, its queue is full, and `/` and
    /// the panel's script are served while those logins are still outstanding.
    @Test func staticFilesAreServedWhileTheBcryptPoolIsFull() async throws {
        try await APITestSystem.with(transport: .live, configure: Self.flooded) { api in
            let port = try #require(api.client.port)
            let passwords = api.components.passwords
            let gate = DispatchSemaphore(value: 0)
            let held = Task { try await passwords.submit { gate.wait() } }
            try await Self.waitUntil { passwords.outstanding == 1 }

            let answered = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                defer { gate.signal() }
                for index in 0..<200 {
                    group.addTask {
                        let response = try await Self.floodLogin(port, index)
                        answered.statuses.withLock { $0.append(response.status.code) }
                    }
                }
                // Two logins wait in the queue behind the held thread; the other 198 were refused at once.
                try await Self.waitUntil { answered.statuses.withLock { $0.count } == 198 }
                #expect(answered.statuses.withLock { $0.allSatisfy { $0 == 429 } })

                for path in ["/", "/panel/main.js", "/styles.css"] {
                    let file = try await Self.fetch(port, path)
                    #expect(file.status == .ok, "\(path)")
                    #expect((file.body?.readableBytes ?? 0) > 0, "\(path)")
                    // Still outstanding when the file arrived: the held job and the two queued logins.
                    #expect(passwords.outstanding == 3, "\(path)")
                    #expect(answered.statuses.withLock { $0.count } == 198, "\(path)")
                }
                gate.signal()
                try await group.waitForAll()
            }
            _ = try await held.value
            let statuses = answered.statuses.withLock { $0 }
            #expect(statuses.filter { $0 == 401 }.count == 2)
            #expect(statuses.filter { $0 == 429 }.count == 198)
            #expect(passwords.outstanding == 0)
        }
    }

    /// Polls `condition` every 10 ms; fails after 60 s (a hang, not a slow machine).
    static func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<6000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 60 s")
        throw CancellationError()
    }
}

/// Login statuses as they arrive.
final class Tally: Sendable {
    let statuses = Mutex<[Int]>([])
}

/// The limiter every throttle of the api is built on.
@Suite struct RateLimiterTests {
    @Test func aKeyIsRefusedUntilItsOldestEventLeavesTheWindow() {
        let clock = TestClock()
        let limiter = RateLimiter<String>(limit: 3, window: 60, clock: clock.wallClock)
        for _ in 1...3 { #expect(limiter.acquire("a") == .allowed) }
        #expect(limiter.acquire("a") == .limited(retryAfter: 60))
        #expect(limiter.acquire("b") == .allowed)
        clock.advance(by: 30)
        #expect(limiter.check("a") == .limited(retryAfter: 30))
        clock.advance(by: 30.5)
        #expect(limiter.acquire("a") == .allowed)
        #expect(limiter.acquire("a") == .allowed)
    }

    @Test func refundsAndResetsTakeEventsBack() {
        let clock = TestClock()
        let limiter = RateLimiter<String>(limit: 2, window: 60, clock: clock.wallClock)
        #expect(limiter.acquire("a") == .allowed && limiter.acquire("a") == .allowed)
        limiter.refund("a")
        #expect(limiter.acquire("a") == .allowed)
        #expect(limiter.acquire("a").retryAfter != nil)
        limiter.reset("a")
        #expect(limiter.check("a") == .allowed)
        limiter.record("b")
        limiter.record("b")
        limiter.record("b")
        #expect(limiter.check("b") != .allowed)
    }

    @Test func memoryStaysBoundedUnderAFloodOfKeys() {
        let clock = TestClock()
        let limiter = RateLimiter<String>(limit: 1, window: 60, maximumKeys: 100, clock: clock.wallClock)
        for index in 0..<100 {
            _ = limiter.acquire("key\(index)")
            clock.advance(by: 0.01)
        }
        #expect(limiter.keyCount == 100)
        // At the cap, the least recently active tenth goes: key0 is forgotten, key99 still counted.
        #expect(limiter.acquire("new") == .allowed)
        #expect(limiter.keyCount == 91)
        #expect(limiter.check("key0") == .allowed)
        #expect(limiter.check("key99") != .allowed)
        for index in 0..<100_000 { _ = limiter.acquire("flood\(index)") }
        #expect(limiter.keyCount <= 100)
        // At the cap, keys whose window has passed are dropped first: here, all of the flood.
        clock.advance(by: 61)
        for index in 0..<20 { #expect(limiter.acquire("late\(index)") == .allowed) }
        #expect(limiter.keyCount == 20)
    }
}
