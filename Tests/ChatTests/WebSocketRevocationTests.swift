import Foundation
import TestSupport
import Testing

/// Revocation reaches every api instance: a session ended on one closes that agent's sockets on the others,
/// through the `mostrador.live` fan-out (in process: `APITests.WebSocketSessionTests`).
@Suite("WebSocket revocation across api instances", .serialized)
struct WebSocketRevocationTests {
    @Test func logoutOnOneInstanceClosesTheSocketOnAnother() async throws {
        try await MostradorSystem.with(relay: false) { system in
            let second = try await system.startSecondAPI()
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
            let logout = try await system.call("POST", "/api/auth/logout/", authorization: admin)
            #expect(logout.status == 200)
            #expect(await onSecond.waitUntilClosed(timeout: .seconds(20))?.code == "policyViolation")
            guestOnSecond.send("heartbeat")
            #expect(await guestOnSecond.wait(for: "heartbeat") != nil)
            #expect(guestOnSecond.closed == nil)
        }
    }
}
