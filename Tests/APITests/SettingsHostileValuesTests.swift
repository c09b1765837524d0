import MostradorServiceKit
import Testing

@testable import MostradorAPI

/// Every number of seconds, minutes or hours the api reads is checked finite and within bounds (review R6):
/// `inf`, `nan`, `1e20` and `-5` are refused naming the variable, never a trap in a Double → Int conversion.
@Suite struct SettingsHostileValuesTests {
    static let variables = [
        "MOSTRADOR_SEND_WAIT_SECONDS", "MOSTRADOR_SESSION_HOURS", "MOSTRADOR_GUEST_SESSION_MINUTES",
        "MOSTRADOR_GUEST_CHAT_WINDOW_MINUTES", "MOSTRADOR_RECAPTCHA_MIN_SCORE", "MOSTRADOR_WEBHOOK_MAX_SKEW_SECONDS",
        "MOSTRADOR_LOGIN_WINDOW_MINUTES", "MOSTRADOR_SESSION_PURGE_MINUTES", "MOSTRADOR_SESSION_SWEEP_SECONDS",
        "MOSTRADOR_ROOM_TOKEN_DAYS_AFTER_CLOSE", "MOSTRADOR_TICKET_MAX_MB", "MOSTRADOR_MIN_FREE_DISK_MB",
        "MOSTRADOR_SESSION_CACHE_SECONDS",
    ]

    static func settings(_ environment: [String: String]) throws -> APISettings {
        try APISettings(ServiceOptions.parse([]).resolve(service: "api", defaultPort: 8080, environment: environment))
    }

    @Test(arguments: variables, ["inf", "nan", "1e20", "-5", "-inf", "9223372036854775807"])
    func hostileValuesAreRefusedNamingTheVariable(_ variable: String, _ value: String) {
        #expect {
            _ = try Self.settings([variable: value])
        } throws: { "\($0)".contains(variable) }
    }

    @Test func ordinaryValuesAreRead() throws {
        let settings = try Self.settings([
            "MOSTRADOR_SEND_WAIT_SECONDS": "2.5", "MOSTRADOR_SESSION_HOURS": "0.5",
            "MOSTRADOR_GUEST_CHAT_WINDOW_MINUTES": "10", "MOSTRADOR_LOGIN_WINDOW_MINUTES": "1",
            "MOSTRADOR_SESSION_CACHE_SECONDS": "0",
        ])
        #expect(settings.sendWait == .milliseconds(2500))
        #expect(settings.sessionLifetime == .seconds(1800))
        #expect(settings.guestChatWindow == 600)
        #expect(settings.loginWindow == 60)
        #expect(settings.sessionCacheLifetime == .zero)
        #expect(try Self.settings([:]).sessionCacheLifetime == .seconds(2))
    }

    /// A rate limiter's `Retry-After` from a window that is not finite does not trap either.
    @Test func aRateLimiterWithAnEndlessWindowAnswersWithoutTrapping() {
        let limiter = RateLimiter<String>(limit: 1, window: .infinity, clock: .system)
        _ = limiter.acquire("k")
        guard case .limited(let retryAfter) = limiter.acquire("k") else {
            Issue.record("the second attempt was allowed")
            return
        }
        #expect(retryAfter == Int.max)
    }
}
