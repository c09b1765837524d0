import Foundation
import MostradorSQL

/// Two-factor authentication (TOTP, RFC 6238) for agents: enrolment with a pending secret confirmed by a code,
/// ten one-time recovery codes (stored as SHA-256), each TOTP step accepted once, and enforcement per agent or for
/// everyone by an admin. An agent who must enrol and has not gets no session at login: a setup token (10 minutes)
/// that opens only the enrolment calls, after which they log in with a code.
extension AgentStore {
    enum TwoFactorProblem: Error, Equatable {
        case noPendingSetup
        case wrongCode
        case alreadyEnabled
        case requiredByAdmin
        case notFound
    }

    struct TwoFactorState: Sendable, Equatable {
        var enabled: Bool
        /// Required for this agent (by the agent's own flag or for everyone).
        var required: Bool
        var requiredForAgent: Bool
        var recoveryCodesLeft: Int
    }

    struct TwoFactorPolicy: Codable, Sendable, Equatable {
        var requiredForAll = false
    }

    static let twoFactorKey = "two_factor"
    static let recoveryCodeCount = 10
    static let setupTokenLifetime: TimeInterval = 600

    /// What a login's second factor decided.
    enum SecondFactor: Equatable {
        /// Not enrolled and not required, or the code was right.
        case passed
        /// Enrolled: a code is needed.
        case missing
        case wrong
        /// Required but not enrolled yet.
        case mustEnrol
    }

    static func twoFactorPolicy(db: Database) throws -> TwoFactorPolicy {
        try AppSettings.read(twoFactorKey, as: TwoFactorPolicy.self, db: db) ?? TwoFactorPolicy()
    }

    func twoFactorPolicy() async throws -> TwoFactorPolicy {
        try await reader.read { db in try Self.twoFactorPolicy(db: db) }
    }

    func setTwoFactorPolicy(_ policy: TwoFactorPolicy, by admin: Agent) async throws {
        try await committer.write { db in
            try AppSettings.write(Self.twoFactorKey, policy, db: db)
            try AuditLog.add(
                AuditEntry(
                    "settings.two_factor", by: admin, details: ["obligatoria_para_todos": String(policy.requiredForAll)]
                ), db: db)
        }
    }

    static func twoFactorState(agentID: Int64, db: Database) throws -> TwoFactorState? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT totp_enabled_at IS NOT NULL AS enabled, two_factor_required,
                        (SELECT COUNT(*) FROM recovery_codes r WHERE r.agent_id = a.id AND r.used_at IS NULL) AS codes
                    FROM agents a WHERE a.id = ?
                    """, arguments: [agentID])
        else { return nil }
        let forAgent: Bool = row["two_factor_required"]
        let forAll = try twoFactorPolicy(db: db).requiredForAll
        return TwoFactorState(
            enabled: row["enabled"], required: forAgent || forAll,
            requiredForAgent: forAgent, recoveryCodesLeft: row["codes"])
    }

    func twoFactorState(agentID: Int64) async throws -> TwoFactorState {
        guard let state = try await reader.read({ db in try Self.twoFactorState(agentID: agentID, db: db) }) else {
            throw TwoFactorProblem.notFound
        }
        return state
    }

    /// Checks (and, when right, uses up) the second factor of a login whose password was right.
    static func secondFactor(agentID: Int64, code: String?, now: Date, db: Database) throws -> SecondFactor {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [agentID]) else {
            return .wrong
        }
        guard (row["totp_enabled_at"] as Date?) != nil, let secret = (row["totp_secret"] as String?),
            let totp = TOTP(base32: secret)
        else {
            let forAll = try twoFactorPolicy(db: db).requiredForAll
            return (row["two_factor_required"] as Bool) || forAll ? .mustEnrol : .passed
        }
        guard let code = code?.trimmingCharacters(in: .whitespaces), !code.isEmpty else { return .missing }
        if let step = totp.match(code, at: now, after: row["totp_last_step"]) {
            try db.execute(sql: "UPDATE agents SET totp_last_step = ? WHERE id = ?", arguments: [step, agentID])
            return .passed
        }
        // A recovery code, once.
        try db.execute(
            sql: "UPDATE recovery_codes SET used_at = ? WHERE agent_id = ? AND code_hash = ? AND used_at IS NULL",
            arguments: [now, agentID, Self.digest(Self.normalisedRecoveryCode(code))])
        return db.changesCount == 1 ? .passed : .wrong
    }

    /// Starts (or restarts) enrolment: a new secret, pending until a code from it is confirmed.
    func beginTwoFactorSetup(agentID: Int64) async throws -> TOTP {
        let totp = TOTP.generate()
        try await committer.write { db in
            guard let state = try Self.twoFactorState(agentID: agentID, db: db) else { throw TwoFactorProblem.notFound }
            guard !state.enabled else { throw TwoFactorProblem.alreadyEnabled }
            try db.execute(
                sql: "UPDATE agents SET totp_pending_secret = ? WHERE id = ?", arguments: [totp.base32, agentID])
        }
        return totp
    }

    /// Confirms enrolment with a code from the pending secret; returns the recovery codes, shown once.
    func enableTwoFactor(agentID: Int64, code: String, by agent: Agent) async throws -> [String] {
        let codes = (0..<Self.recoveryCodeCount).map { _ in Self.newRecoveryCode() }
        let now = clock.now()
        try await committer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [agentID]) else {
                throw TwoFactorProblem.notFound
            }
            guard (row["totp_enabled_at"] as Date?) == nil else { throw TwoFactorProblem.alreadyEnabled }
            guard let pending = row["totp_pending_secret"] as String?, let totp = TOTP(base32: pending) else {
                throw TwoFactorProblem.noPendingSetup
            }
            guard let step = totp.match(code, at: now, after: nil) else { throw TwoFactorProblem.wrongCode }
            try db.execute(
                sql: """
                    UPDATE agents SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
                        totp_enabled_at = ?, totp_last_step = ?
                    WHERE id = ?
                    """, arguments: [now, step, agentID])
            try db.execute(sql: "DELETE FROM recovery_codes WHERE agent_id = ?", arguments: [agentID])
            for code in codes {
                try db.execute(
                    sql: "INSERT INTO recovery_codes (agent_id, code_hash) VALUES (?, ?)",
                    arguments: [agentID, Self.digest(code)])
            }
            try db.execute(sql: "DELETE FROM two_factor_setups WHERE agent_id = ?", arguments: [agentID])
            try AuditLog.add(
                AuditEntry("auth.2fa_enable", by: agent, target: ("agent", row["uuid"] as String)), db: db)
        }
        return codes
    }

    /// Turns two-factor off for an agent (their own choice, unless required; or an admin's reset of a lost phone).
    func disableTwoFactor(agentID: Int64, by actor: Agent, reset: Bool) async throws {
        try await committer.write { db in
            guard let state = try Self.twoFactorState(agentID: agentID, db: db),
                let uuid = try String.fetchOne(db, sql: "SELECT uuid FROM agents WHERE id = ?", arguments: [agentID])
            else { throw TwoFactorProblem.notFound }
            if !reset, state.required { throw TwoFactorProblem.requiredByAdmin }
            try db.execute(
                sql: """
                    UPDATE agents SET totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL,
                        totp_last_step = NULL
                    WHERE id = ?
                    """, arguments: [agentID])
            try db.execute(sql: "DELETE FROM recovery_codes WHERE agent_id = ?", arguments: [agentID])
            try AuditLog.add(
                AuditEntry(reset ? "auth.2fa_reset" : "auth.2fa_disable", by: actor, target: ("agent", uuid)), db: db)
        }
    }

    func requireTwoFactor(agentID: Int64, _ required: Bool, by admin: Agent) async throws -> TwoFactorState {
        try await committer.write { db in
            guard let uuid = try String.fetchOne(db, sql: "SELECT uuid FROM agents WHERE id = ?", arguments: [agentID])
            else { throw TwoFactorProblem.notFound }
            try db.execute(
                sql: "UPDATE agents SET two_factor_required = ? WHERE id = ?", arguments: [required, agentID])
            try AuditLog.add(
                AuditEntry(
                    "agent.2fa_required", by: admin, target: ("agent", uuid), details: ["obligatoria": String(required)]
                ), db: db)
            return try Self.twoFactorState(agentID: agentID, db: db)!
        }
    }

    // MARK: Setup tokens

    func issueSetupToken(agentID: Int64) async throws -> String {
        let token = Self.newToken()
        let now = clock.now()
        try await committer.write { db in
            try db.execute(sql: "DELETE FROM two_factor_setups WHERE expires_at <= ?", arguments: [now])
            try db.execute(
                sql: "INSERT INTO two_factor_setups (token_hash, agent_id, expires_at) VALUES (?, ?, ?)",
                arguments: [Self.digest(token), agentID, now.addingTimeInterval(Self.setupTokenLifetime)])
        }
        return token
    }

    /// The (active) agent a live setup token belongs to.
    func agent(forSetupToken token: String) async throws -> Agent? {
        let now = clock.now()
        return try await reader.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT a.* FROM two_factor_setups s JOIN agents a ON a.id = s.agent_id
                    WHERE s.token_hash = ? AND s.expires_at > ? AND a.is_active
                    """, arguments: [Self.digest(token), now]
            ).map(Agent.init(row:))
        }
    }

    // MARK: Recovery codes

    /// `xxxx-xxxx` from letters and digits that are hard to misread.
    static func newRecoveryCode() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let characters = (0..<8).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return String(characters[0..<4]) + "-" + String(characters[4..<8])
    }

    static func normalisedRecoveryCode(_ text: String) -> String {
        let compact = text.lowercased().filter { $0.isLetter || $0.isNumber }
        guard compact.count == 8 else { return compact }
        return String(compact.prefix(4)) + "-" + String(compact.suffix(4))
    }
}

extension AgentStore {
    /// Whether `password` is the agent's (bcrypt on its own pool).
    func passwordMatches(agentID: Int64, _ password: String) async throws -> Bool {
        let hash = try await reader.read { db in
            try String.fetchOne(db, sql: "SELECT password_hash FROM agents WHERE id = ?", arguments: [agentID])
        }
        return try await passwords.verify(password, against: hash)
    }

    /// Ends every session of an agent, here at once (other instances hear of it through `sessionsRevoked`).
    func endSessions(agentID: Int64) async throws {
        try await committer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE agent_id = ?", arguments: [agentID])
        }
        sessions.forget(agentID: agentID)
    }
}
