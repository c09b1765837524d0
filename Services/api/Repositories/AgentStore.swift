import Crypto
import Foundation
import MostradorSQL
import MostradorStorage

/// A technician or admin using the panel.
struct Agent: Sendable, Equatable {
    enum Role: String, Sendable {
        case admin
        case agent
    }

    let id: Int64
    let uuid: String
    let username: String
    let email: String
    let firstName: String
    let lastName: String
    let role: Role
    let isActive: Bool
    let isAvailable: Bool
    let specialty: String

    init(row: Row) {
        id = row["id"]
        uuid = row["uuid"]
        username = row["username"]
        email = row["email"]
        firstName = row["first_name"]
        lastName = row["last_name"]
        role = Role(rawValue: row["role"]) ?? .agent
        isActive = row["is_active"]
        isAvailable = row["is_available"]
        specialty = row["specialty"]
    }

    var displayName: String {
        let full = "\(firstName) \(lastName)".trimmingCharacters(in: .whitespaces)
        return full.isEmpty ? username : full
    }
}

/// Agents and their sessions. Passwords are bcrypt hashes; session tokens are stored as SHA-256 hashes.
struct AgentStore: Sendable {
    let committer: SQLCommitter
    let sessionLifetime: Duration
    var clock = WallClock.system
    /// bcrypt's own bounded pool: hashing and verifying may throw `PasswordHasher.busy` (429).
    let passwords: PasswordHasher
    /// Sessions recently read (a request with a known token costs no database read).
    var sessions = SessionCache()
    var reader: SQLDatabase { committer.writer }

    /// Creates the first admin from configuration when there is no admin yet. Returns whether it did. Runs before
    /// the services start (so it writes directly, not through the group committer).
    @discardableResult
    func bootstrapAdmin(username: String, password: String) async throws -> Bool {
        let hash = try await passwords.hash(password)
        return try await committer.writer.write { db in
            let admins = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM agents WHERE role = 'admin'") ?? 0
            guard admins == 0 else { return false }
            try db.execute(
                sql: """
                    INSERT INTO agents (uuid, username, password_hash, role, first_name, created_at)
                    VALUES (?, ?, ?, 'admin', 'Administrador', ?)
                    """,
                arguments: [UUID().uuidString.lowercased(), username, hash, Date()])
            return true
        }
    }

    /// What a login came to.
    enum LoginOutcome: Sendable {
        /// A session.
        case session(token: String, agent: Agent)
        /// The credentials do not match an active agent.
        case refused
        /// The password was right; the second factor was missing or wrong, or the agent must enrol first.
        case secondFactor(SecondFactor, agent: Agent)
    }

    /// Checks the password, then the second factor (`code`: a TOTP code or a recovery code) when the agent has one,
    /// and opens a session.
    func login(username: String, password: String, code: String? = nil) async throws -> LoginOutcome {
        let found = try await reader.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE username = ? AND is_active", arguments: [username])
                .map { (agent: Agent(row: $0), hash: $0["password_hash"] as String) }
        }
        // Verified against the decoy when the user does not exist, so timing does not reveal valid usernames.
        let matches = try await passwords.verify(password, against: found?.hash)
        guard let agent = found?.agent, matches else { return .refused }
        let token = Self.newToken()
        let now = clock.now()
        let expires = now.addingTimeInterval(TimeInterval(sessionLifetime.components.seconds))
        let factor = try await committer.write { db -> SecondFactor in
            let factor = try Self.secondFactor(agentID: agent.id, code: code, now: now, db: db)
            guard factor == .passed else { return factor }
            try db.execute(
                sql: "INSERT INTO sessions (token_hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [Self.digest(token), agent.id, now, expires])
            return factor
        }
        guard factor == .passed else { return .secondFactor(factor, agent: agent) }
        return .session(token: token, agent: agent)
    }

    /// The agent a token belongs to, if the session is live.
    func agent(forToken token: String) async throws -> Agent? {
        let digest = Self.digest(token)
        let now = clock.now()
        if let agent = sessions.agent(digest: digest, now: now) { return agent }
        guard let found = try await reader.read({ db in try Self.session(digest: digest, now: now, db: db) }) else {
            return nil
        }
        sessions.store(digest: digest, agent: found.agent, sessionExpiresAt: found.expiresAt, now: now)
        return found.agent
    }

    func logout(token: String) async throws {
        let digest = Self.digest(token)
        try await committer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [digest])
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [clock.now()])
        }
        sessions.forget(digest: digest)
    }

    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func digest(_ token: String) -> String {
        hex(SHA256.hash(data: Data(token.utf8)))
    }

    /// Lowercase hexadecimal (`String(format:)` per byte cost more than the SQL read it keys, on every request).
    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
