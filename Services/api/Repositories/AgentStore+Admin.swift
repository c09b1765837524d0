import Foundation
import MostradorSQL

extension AgentStore {
    struct Draft: Sendable {
        var username: String
        var password: String
        var email = ""
        var firstName = ""
        var lastName = ""
        var role = Agent.Role.agent
        var specialty = "soporte_general"
        var isAvailable = true
    }

    struct Changes: Sendable {
        var password: String?
        var email: String?
        var firstName: String?
        var lastName: String?
        var role: Agent.Role?
        var specialty: String?
        var isAvailable: Bool?
        var isActive: Bool?
    }

    enum AdminProblem: Error, Equatable {
        case usernameTaken
        case notFound
        case lastAdmin
    }

    func all() async throws -> [Agent] {
        try await reader.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY id").map(Agent.init(row:))
        }
    }

    /// By numeric id or UUID.
    func find(_ key: String) async throws -> Agent? {
        try await reader.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM agents WHERE CAST(id AS TEXT) = ? OR uuid = ?",
                arguments: [key, key.lowercased()]
            ).map(Agent.init(row:))
        }
    }

    func create(_ draft: Draft) async throws -> Agent {
        let hash = try await passwords.hash(draft.password)
        return try await committer.write { db in
            guard
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM agents WHERE username = ?", arguments: [draft.username])
                    == 0
            else { throw AdminProblem.usernameTaken }
            try db.execute(
                sql: """
                    INSERT INTO agents (uuid, username, email, first_name, last_name, password_hash, role, specialty,
                                        is_available, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    UUID().uuidString.lowercased(), draft.username, draft.email, draft.firstName, draft.lastName, hash,
                    draft.role.rawValue, draft.specialty, draft.isAvailable, Date(),
                ])
            return Agent(
                row: try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [db.lastInsertedRowID])!)
        }
    }

    /// Applies changes; deactivating ends the agent's sessions. The last active admin cannot be demoted or deactivated.
    func update(_ id: Int64, _ changes: Changes) async throws -> Agent {
        let hash: String? =
            if let password = changes.password { try await passwords.hash(password) } else { nil }
        defer { sessions.forget(agentID: id) }
        return try await committer.write { db in
            guard
                let current = try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [id]).map(
                    Agent.init(row:))
            else { throw AdminProblem.notFound }
            let losesAdmin = current.role == .admin && (changes.role == .agent || changes.isActive == false)
            if losesAdmin {
                let admins =
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND is_active") ?? 0
                guard admins > 1 else { throw AdminProblem.lastAdmin }
            }
            try db.execute(
                sql: """
                    UPDATE agents SET password_hash = COALESCE(?, password_hash), email = COALESCE(?, email),
                        first_name = COALESCE(?, first_name), last_name = COALESCE(?, last_name),
                        role = COALESCE(?, role), specialty = COALESCE(?, specialty),
                        is_available = COALESCE(?, is_available), is_active = COALESCE(?, is_active)
                    WHERE id = ?
                    """,
                arguments: [
                    hash, changes.email, changes.firstName, changes.lastName, changes.role?.rawValue, changes.specialty,
                    changes.isAvailable, changes.isActive, id,
                ])
            if changes.isActive == false || hash != nil {
                try db.execute(sql: "DELETE FROM sessions WHERE agent_id = ?", arguments: [id])
            }
            return Agent(row: try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [id])!)
        }
    }
}
