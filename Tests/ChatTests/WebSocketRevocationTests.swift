import Foundation
import TestSupport
import Testing

/// Revocation reaches every api instance: a session ended on one closes that agent's sockets on the others,
/// through the `mostrador.live` fan-out (in process: `APITests.WebSocketSessionTests`).
@Suite("WebSocket revocation across api instances", .serialized)
struct WebSocketRevocationTests {
    @Test func logoutOnOneInstanceClosesTheSocketOnAnother() async throws {
        try await MostradorSystem.with(relay: false) { system in
            // Sessions read there stay trusted for a minute unless the revocation poke reaches that instance.
            let second = try await system.startSecondAPI(environment: ["MOSTRADOR_SESSION_CACHE_SECONDS": "60"])
            let admin = try await system.login(MostradorSystem.adminUser, MostradorSystem.adminPassword)
            let token = String(admin.split(separator: " ").last ?? "")
            let chat = try await system.guestChat()
            let onSecond = LiveClient(url: system.webSocketURL(ticket: chat.room, token: token, on: second))
            let guestOnSecond = LiveClient(
                url: system.webSocketURL(
                    ticket: chat.room, token: String(chat.authorization.split(separator: " ").last ?? ""), on: second))
            defer {
                onSecond.close()
                guestOnSecond.close()
            }
            #expect(await onSecond.wait(for: "connection_established") != nil)
            #expect(await guestOnSecond.wait(for: "connection_established") != nil)
            let agentsOnSecond = "\(second.baseURL)/api/agents/"
            let before = try await HTTP.request("GET", agentsOnSecond, headers: ["Authorization": admin])
            #expect(before.status == 200)
            let logout = try await system.call("POST", "/api/auth/logout/", authorization: admin)
            #expect(logout.status == 200)
            #expect(await onSecond.waitUntilClosed(timeout: .seconds(20))?.code == "policyViolation")
            // The same poke made the second instance forget the session it had cached.
            let after = try await HTTP.request("GET", agentsOnSecond, headers: ["Authorization": admin])
            #expect(after.status == 401)
            guestOnSecond.send("heartbeat")
            #expect(await guestOnSecond.wait(for: "heartbeat") != nil)
            #expect(guestOnSecond.closed == nil)
        }
    }
}
