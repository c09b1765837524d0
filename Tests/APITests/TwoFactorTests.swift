import Foundation
import HTTPTypes
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Two-factor authentication: RFC 6238 codes, enrolment confirmed by a code, each code and recovery code used once,
/// an admin's requirement that lets no session out before enrolment, and an admin's reset.
@Suite struct TwoFactorTests {
    @Test func codesFollowRFC6238AndBase32FollowsRFC4648() {
        // RFC 6238, appendix B (SHA-1, 8 digits, the ASCII secret "12345678901234567890").
        var totp = TOTP(secret: Array("12345678901234567890".utf8))
        totp.digits = 8
        for (time, code) in [
            (59.0, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"), (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
        ] {
            #expect(totp.code(at: Date(timeIntervalSince1970: time)) == code, "T = \(time)")
        }
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
        #expect(Base32.decode("mzxw 6ytb oi======") == Array("foobar".utf8))
        #expect(Base32.decode("MZXW1") == nil)
        let generated = TOTP.generate()
        #expect(TOTP(base32: generated.base32) == generated)
        // A code works one step either side, and never twice.
        let now = Date()
        let step = generated.step(at: now)
        #expect(generated.match(generated.code(step: step - 1), at: now, after: nil) == step - 1)
        #expect(generated.match(generated.code(step: step + 2), at: now, after: nil) == nil)
        #expect(generated.match(generated.code(step: step), at: now, after: step) == nil)
        #expect(generated.match("12345", at: now, after: nil) == nil)
        #expect(generated.match("abcdef", at: now, after: nil) == nil)
    }

    static func enrol(_ api: APITestSystem, authorization: String? = nil, setupToken: String? = nil) async throws
        -> (totp: TOTP, recovery: [String])
    {
        var body: [String: Any] = [:]
        if let setupToken { body["setup_token"] = setupToken }
        let setup = try await api.call(.post, "/api/auth/2fa/setup", authorization: authorization, json: body)
        try #require(setup.status == 200, Comment(rawValue: setup.text))
        let secret = try #require(try setup.json()["secret"] as? String)
        let totp = try #require(TOTP(base32: secret))
        body["code"] = totp.code(at: api.clock.wallClock.now())
        let enabled = try await api.call(.post, "/api/auth/2fa/enable", authorization: authorization, json: body)
        try #require(enabled.status == 200, Comment(rawValue: enabled.text))
        return (totp, try #require(try enabled.json()["recovery_codes"] as? [String]))
    }

    static func login(_ api: APITestSystem, _ user: String, _ password: String, otp: String? = nil) async throws
        -> APITestSystem.Reply
    {
        var body: [String: Any] = ["username": user, "password": password]
        if let otp { body["otp"] = otp }
        return try await api.call(.post, "/api/auth/login/", json: body)
    }

    @Test func anAgentEnrolsAndThenLogsInWithACodeOrARecoveryCode() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let setup = try await api.call(.post, "/api/auth/2fa/setup", authorization: admin, json: [:])
            let answer = try setup.json()
            let uri = try #require(answer["otpauth_uri"] as? String)
            #expect(uri.hasPrefix("otpauth://totp/Mostrador:admin?secret="))
            #expect(uri.contains("&issuer=Mostrador&algorithm=SHA1&digits=6&period=30"))
            #expect((answer["qr_svg"] as? String)?.hasPrefix("<svg") == true)
            #expect((answer["qr_svg"] as? String)?.contains("secret") == false)
            // A wrong code does not enable it.
            let wrong = try await api.call(
                .post, "/api/auth/2fa/enable", authorization: admin, json: ["code": "000000"])
            #expect(wrong.status == 400)
            #expect(try await api.call(.get, "/api/auth/2fa", authorization: admin).json()["enabled"] as? Bool == false)

            let (totp, recovery) = try await Self.enrol(api, authorization: admin)
            #expect(recovery.count == 10)
            #expect(Set(recovery).count == 10)
            #expect(recovery.allSatisfy { $0.count == 9 && $0.contains("-") })
            let state = try await api.call(.get, "/api/auth/2fa", authorization: admin).json()
            #expect(state["enabled"] as? Bool == true)
            #expect(state["recovery_codes_left"] as? Int == 10)
            // Neither the secret nor the codes are stored as given.
            let stored = try await api.pool.read { db in
                try String.fetchAll(db, sql: "SELECT code_hash FROM recovery_codes").joined()
            }
            #expect(!recovery.contains { stored.contains($0) })

            let user = APITestSystem.adminUser
            let password = APITestSystem.adminPassword
            let missing = try await Self.login(api, user, password)
            #expect(missing.status == 401)
            #expect(try missing.json()["two_factor_required"] as? Bool == true)
            #expect(try missing.json()["token"] == nil)
            // The code that enabled it was used already.
            let replay = try await Self.login(api, user, password, otp: totp.code(at: api.clock.wallClock.now()))
            #expect(replay.status == 401)
            #expect(replay.text.contains("incorrecto"))
            api.clock.advance(by: 30)
            let code = totp.code(at: api.clock.wallClock.now())
            #expect(try await Self.login(api, user, password, otp: code).status == 200)
            #expect(try await Self.login(api, user, password, otp: code).status == 401)
            // A wrong password with a right code is still a wrong password.
            api.clock.advance(by: 30)
            let other = try await Self.login(api, user, "otra", otp: totp.code(at: api.clock.wallClock.now()))
            #expect(other.text.contains("Usuario o contraseña incorrectos"))
            // A recovery code works once, with or without its dash and in capitals.
            let first = recovery[0]
            #expect(
                try await Self.login(
                    api, user, password, otp: first.uppercased().replacingOccurrences(of: "-", with: "")
                )
                .status == 200)
            #expect(try await Self.login(api, user, password, otp: first).status == 401)
            let after = try await api.admin2FA(password: password, totp: totp)
            #expect(
                try await api.call(.get, "/api/auth/2fa", authorization: after).json()["recovery_codes_left"] as? Int
                    == 9)

            // Turning it off takes the password.
            let refused = try await api.call(
                .post, "/api/auth/2fa/disable", authorization: after, json: ["password": "otra"])
            #expect(refused.status == 403)
            let disabled = try await api.call(
                .post, "/api/auth/2fa/disable", authorization: after, json: ["password": password])
            #expect(try disabled.json()["enabled"] as? Bool == false)
            #expect(try await Self.login(api, user, password).status == 200)
            let audit = AuditTests.actions(try await AuditTests.entries(api, "?action=auth", as: after))
            #expect(audit.filter { $0.hasPrefix("auth.2fa") } == ["auth.2fa_disable", "auth.2fa_enable"])
            let failures = try await AuditTests.entries(api, "?action=auth.login_2fa_failed", as: after)
            // The replayed code, the code used twice, the recovery code used twice.
            #expect(failures.count == 3)
        }
    }

    @Test func anAgentAnAdminObligesGetsNoSessionUntilEnrolled() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            let required = try await api.call(
                .put, "/api/agents/\(tecnico.id)/2fa", authorization: admin, json: ["required": true])
            #expect(required.status == 200, Comment(rawValue: required.text))
            #expect(try required.json()["required"] as? Bool == true)

            let login = try await Self.login(api, "tecnico1", "password123")
            #expect(login.status == 403)
            let body = try login.json()
            #expect(body["two_factor_setup_required"] as? Bool == true)
            #expect(body["token"] == nil)
            let setupToken = try #require(body["setup_token"] as? String)
            // The setup token is not a session.
            #expect(try await api.call(.get, "/tickets", authorization: "Token \(setupToken)").status == 401)
            #expect(
                try await api.call(.post, "/api/auth/2fa/setup", json: ["setup_token": "no-es-un-token"]).status == 401)
            let (totp, _) = try await Self.enrol(api, setupToken: setupToken)
            // Enrolled: the setup token is spent, and a code opens a session.
            #expect(try await api.call(.post, "/api/auth/2fa/setup", json: ["setup_token": setupToken]).status == 401)
            api.clock.advance(by: 30)
            let session = try await Self.login(
                api, "tecnico1", "password123", otp: totp.code(at: api.clock.wallClock.now()))
            #expect(session.status == 200, Comment(rawValue: session.text))
            let token = "Token \(try #require(try session.json()["token"] as? String))"
            // Required: they cannot turn it off.
            let off = try await api.call(
                .post, "/api/auth/2fa/disable", authorization: token, json: ["password": "password123"])
            #expect(off.status == 409)

            // An admin's reset (a lost phone) ends their sessions; they enrol again at the next login.
            let reset = try await api.call(.delete, "/api/agents/\(tecnico.id)/2fa", authorization: admin)
            #expect(try reset.json()["enabled"] as? Bool == false)
            #expect(try await api.call(.get, "/tickets", authorization: token).status == 401)
            #expect(try await Self.login(api, "tecnico1", "password123").status == 403)
        }
    }

    @Test func requiredForEveryoneAndOnlyAdminsDecide() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let tecnico = try await api.agent("tecnico1")
            for (method, path, body) in [
                (HTTPRequest.Method.get, "/api/settings/two-factor", nil),
                (.put, "/api/settings/two-factor", ["required_for_all": true] as [String: Any]?),
                (.put, "/api/agents/\(tecnico.id)/2fa", ["required": true]),
                (.delete, "/api/agents/\(tecnico.id)/2fa", nil),
            ] {
                #expect(try await api.call(method, path, json: body).status == 401)
                #expect(
                    try await api.call(method, path, authorization: tecnico.authorization, json: body).status == 403)
            }
            #expect(try await api.call(.get, "/api/auth/2fa").status == 401)
            #expect(
                try await api.call(.put, "/api/settings/two-factor", authorization: admin, json: [:]).status == 400)
            #expect(
                try await api.call(.put, "/api/agents/\(tecnico.id)/2fa", authorization: admin, json: [:]).status
                    == 400)
            #expect(
                try await api.call(.post, "/api/auth/2fa/enable", authorization: admin, json: ["code": "123456"])
                    .status == 409)
            let everyone = try await api.call(
                .put, "/api/settings/two-factor", authorization: admin, json: ["required_for_all": true])
            #expect(try everyone.json()["required_for_all"] as? Bool == true)
            #expect(try await Self.login(api, "tecnico1", "password123").status == 403)
            #expect(try await Self.login(api, APITestSystem.adminUser, APITestSystem.adminPassword).status == 403)
            // Existing sessions stay; the state says it is required.
            let state = try await api.call(.get, "/api/auth/2fa", authorization: tecnico.authorization).json()
            #expect(state["required"] as? Bool == true)
            #expect(state["required_for_agent"] as? Bool == false)
        }
    }
}

extension APITestSystem {
    /// The admin's session when their second factor is on: a fresh step's code.
    func admin2FA(password: String, totp: TOTP) async throws -> String {
        clock.advance(by: 30)
        let reply = try await call(
            .post, "/api/auth/login/",
            json: ["username": Self.adminUser, "password": password, "otp": totp.code(at: clock.wallClock.now())])
        return "Token \(try reply.decode(Answer.Login.self).token)"
    }
}
