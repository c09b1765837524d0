import Foundation
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Sessions read once are trusted for a short while (no database read per request), and never past their end.
@Suite("Session cache")
struct SessionCacheTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func agent(id: Int64) throws -> Agent {
        let row: Row = [
            "id": id, "uuid": "uuid-\(id)", "username": "u\(id)", "email": "", "first_name": "", "last_name": "",
            "role": "agent", "is_active": true, "is_available": true, "specialty": "",
        ]
        return Agent(row: row)
    }

    @Test func anEntryLastsItsLifetimeAndNeverOutlivesItsSession() throws {
        let cache = SessionCache(lifetime: .seconds(2))
        let agent = try Self.agent(id: 1)
        cache.store(digest: "a", agent: agent, sessionExpiresAt: Self.start.addingTimeInterval(60), now: Self.start)
        cache.store(digest: "b", agent: agent, sessionExpiresAt: Self.start.addingTimeInterval(1), now: Self.start)
        #expect(cache.agent(digest: "a", now: Self.start.addingTimeInterval(1.5)) == agent)
        #expect(cache.agent(digest: "b", now: Self.start.addingTimeInterval(0.5)) == agent)
        // The session itself ended.
        #expect(cache.agent(digest: "b", now: Self.start.addingTimeInterval(1)) == nil)
        // The entry is older than its lifetime: read the database again.
        #expect(cache.agent(digest: "a", now: Self.start.addingTimeInterval(2)) == nil)
        // A clock that went back does not stretch an entry either.
        cache.store(digest: "c", agent: agent, sessionExpiresAt: Self.start.addingTimeInterval(60), now: Self.start)
        #expect(cache.agent(digest: "c", now: Self.start.addingTimeInterval(-1)) == nil)
        #expect(cache.agent(digest: "unknown", now: Self.start) == nil)
    }

    @Test func forgettingOneAgentKeepsTheOthers() throws {
        let cache = SessionCache(lifetime: .seconds(60))
        let (one, two) = (try Self.agent(id: 1), try Self.agent(id: 2))
        let expiry = Self.start.addingTimeInterval(600)
        cache.store(digest: "one-phone", agent: one, sessionExpiresAt: expiry, now: Self.start)
        cache.store(digest: "one-laptop", agent: one, sessionExpiresAt: expiry, now: Self.start)
        cache.store(digest: "two", agent: two, sessionExpiresAt: expiry, now: Self.start)
        cache.forget(agentID: 1)
        #expect(cache.agent(digest: "one-phone", now: Self.start) == nil)
        #expect(cache.agent(digest: "one-laptop", now: Self.start) == nil)
        #expect(cache.agent(digest: "two", now: Self.start) == two)
        cache.forget(digest: "two")
        #expect(cache.count == 0)
    }

    @Test func aZeroLifetimeStoresNothingAndTheCapacityIsKept() throws {
        let off = SessionCache(lifetime: .zero)
        let agent = try Self.agent(id: 1)
        off.store(digest: "a", agent: agent, sessionExpiresAt: Self.start.addingTimeInterval(60), now: Self.start)
        #expect(off.count == 0)
        let small = SessionCache(lifetime: .seconds(60), capacity: 3)
        for index in 0..<10 {
            small.store(
                digest: "d\(index)", agent: agent, sessionExpiresAt: Self.start.addingTimeInterval(60), now: Self.start)
        }
        #expect(small.count <= 3)
        #expect(small.agent(digest: "d9", now: Self.start) == agent)
    }

    @Test func tokenDigestsAreLowercaseSHA256() {
        #expect(AgentStore.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let token = AgentStore.newToken()
        #expect(token.count == 64)
        #expect(token.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(AgentStore.newToken() != token)
    }

    /// With a minute-long cache, logging out and being deactivated still take effect on the very next request.
    @Test func logoutAndDeactivationAreImmediateDespiteTheCache() async throws {
        try await APITestSystem.with(configure: { $0.sessionCacheLifetime = .seconds(60) }) { api in
            let tecnico = try await api.agent("tecnico1")
            #expect(try await api.call(.get, "/api/agents/", authorization: tecnico.authorization).status == 200)
            #expect(api.components.agents.sessions.count >= 1)
            let deactivated = try await api.call(
                .delete, "/api/agents/\(tecnico.id)/", authorization: try await api.admin())
            #expect(deactivated.status == 200, Comment(rawValue: deactivated.text))
            #expect(try await api.call(.get, "/api/agents/", authorization: tecnico.authorization).status == 401)

            let admin = try await api.admin()
            #expect(try await api.call(.get, "/api/agents/", authorization: admin).status == 200)
            #expect(try await api.call(.post, "/api/auth/logout/", authorization: admin).status == 200)
            #expect(try await api.call(.get, "/api/agents/", authorization: admin).status == 401)
        }
    }

    /// A session's end is honoured even when the entry would still be fresh (the clock moved past the expiry).
    @Test func anExpiredSessionIsRefusedEvenIfCached() async throws {
        try await APITestSystem.with(configure: { $0.sessionCacheLifetime = .seconds(2 * 86_400) }) { api in
            let admin = try await api.admin()
            #expect(try await api.call(.get, "/api/agents/", authorization: admin).status == 200)
            api.clock.advance(by: 12 * 3600 + 1)
            #expect(try await api.call(.get, "/api/agents/", authorization: admin).status == 401)
        }
    }
}
