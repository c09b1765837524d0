import Foundation
import MostradorServiceKit
import TestSupport
import Testing

@testable import MostradorAPI

/// reCAPTCHA is off by default and, with a secret, checked against a verification server (a real HTTP server
/// standing in for Google's).
@Suite("reCAPTCHA on complete_chat")
struct RecaptchaTests {
    @Test func aSecretTurnsVerificationOnAndBadTokensAreRefused() async throws {
        try await FakeRecaptcha.with(secret: "s3cret", goodToken: "token-bueno") { verifier in
            let url = verifier.url
            try await APITestSystem.with(configure: {
                $0.recaptchaSecret = "s3cret"
                $0.recaptchaVerifyURL = url
            }) { api in
                func complete(_ token: String) async throws -> APITestSystem.Reply {
                    let session = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "hola"])
                        .decode(Answer.StartedChat.self).sessionID
                    return try await api.call(
                        .post, "/api/chat/complete_chat/",
                        json: [
                            "session_id": session, "email": "r@x.com", "full_name": "Rita",
                            "phone_number": "5512345678", "recaptcha_token": token,
                        ])
                }
                let bad = try await complete("token-malo")
                #expect(bad.status == 400)
                #expect(bad.failure?.error?.contains("reCAPTCHA") == true)
                #expect(try await complete("").status == 400)
                #expect(try await complete("token-bueno").status == 200)
            }
            // The empty token never reached the server.
            #expect(verifier.forms.count == 2)
        }
    }

    @Test func withoutASecretNoVerificationHappens() async throws {
        try await APITestSystem.with { api in
            let session = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "hola"])
                .decode(Answer.StartedChat.self).sessionID
            let completed = try await api.call(
                .post, "/api/chat/complete_chat/",
                json: [
                    "session_id": session, "email": "usuario@ejemplo.com", "full_name": "Juan Pérez",
                    "phone_number": "+1234567890", "recaptcha_token": "abc123def456",
                ])
            #expect(completed.status == 200, Comment(rawValue: completed.text))
            #expect(try !completed.decode(Answer.CompletedChat.self).chatRoomID.isEmpty)
        }
    }

    /// The guest page learns from `GET /api/chat/config` which widget to load; the page's policy lets that script
    /// (and Google's frame) in only when reCAPTCHA is on.
    @Test func theGuestPageIsToldWhichWidgetToLoad() async throws {
        try await APITestSystem.with(configure: {
            $0.recaptchaSecret = "s3cret"
            $0.recaptchaSiteKey = "clave-del-sitio"
            $0.recaptchaVersion = "v3"
            $0.recaptchaScriptURL = "http://127.0.0.1:9/recaptcha/api.js"
        }) { api in
            let config = try await api.call(.get, "/api/chat/config")
            #expect(config.status == 200)
            let widget = try #require(try config.json()["recaptcha"] as? [String: Any])
            #expect(widget["site_key"] as? String == "clave-del-sitio")
            #expect(widget["version"] as? String == "v3")
            #expect(widget["script_url"] as? String == "http://127.0.0.1:9/recaptcha/api.js")
            let policy = try #require(config.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self' https://www.google.com/recaptcha/"))
            #expect(policy.contains("http://127.0.0.1:9"))
            #expect(policy.contains("frame-src https://www.google.com/recaptcha/"))
        }
        try await APITestSystem.with { api in
            let config = try await api.call(.get, "/api/chat/config")
            #expect(config.status == 200)
            #expect(try config.json()["recaptcha"] is NSNull)
            #expect(try #require(config.headers[.contentSecurityPolicy]).contains("script-src 'self';"))
        }
    }

    @Test func aSecretWithoutASiteKeyOrAnUnknownVersionDoesNotStart() throws {
        func settings(_ environment: [String: String]) throws -> APISettings {
            try APISettings(
                ServiceOptions.parse([]).resolve(service: "api", defaultPort: 8080, environment: environment))
        }
        #expect(throws: (any Error).self) { try settings(["MOSTRADOR_RECAPTCHA_SECRET": "s"]) }
        #expect(throws: (any Error).self) {
            try settings([
                "MOSTRADOR_RECAPTCHA_SECRET": "s", "MOSTRADOR_RECAPTCHA_SITE_KEY": "k",
                "MOSTRADOR_RECAPTCHA_VERSION": "v9",
            ])
        }
        #expect(throws: (any Error).self) {
            try settings([
                "MOSTRADOR_RECAPTCHA_SECRET": "s", "MOSTRADOR_RECAPTCHA_SITE_KEY": "k",
                "MOSTRADOR_RECAPTCHA_SCRIPT_URL": "javascript:alert(1)",
            ])
        }
        let good = try settings(["MOSTRADOR_RECAPTCHA_SECRET": "s", "MOSTRADOR_RECAPTCHA_SITE_KEY": "k"])
        #expect(good.recaptchaVersion == "v2")
        #expect(good.recaptchaScriptURL == "https://www.google.com/recaptcha/api.js")
    }
}
