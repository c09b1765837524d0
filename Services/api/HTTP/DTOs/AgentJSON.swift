import Foundation
import Hummingbird

/// An agent as `/api/agents/` shows it (seed 002).
struct AgentJSON: ResponseEncodable, Sendable {
    /// The agent's UUID.
    let id: String
    let numericID: Int64
    let user: UserJSON
    let role: Agent.Role
    let isAvailable: Bool
    let isActive: Bool
    let specialty: String

    enum CodingKeys: String, CodingKey {
        case id, user, role, specialty
        case numericID = "numeric_id"
        case isAvailable = "is_available"
        case isActive = "is_active"
    }

    init(_ agent: Agent) {
        id = agent.uuid
        numericID = agent.id
        user = UserJSON(agent)
        role = agent.role
        isAvailable = agent.isAvailable
        isActive = agent.isActive
        specialty = agent.specialty
    }
}

/// Seed 002's `user` object of an agent.
struct UserJSON: Encodable, Sendable {
    let id: Int64
    let username: String
    let email: String
    let firstName: String
    let lastName: String

    enum CodingKeys: String, CodingKey {
        case id, username, email
        case firstName = "first_name"
        case lastName = "last_name"
    }

    init(_ agent: Agent) {
        id = agent.id
        username = agent.username
        email = agent.email
        firstName = agent.firstName
        lastName = agent.lastName
    }
}

extension Agent.Role: Encodable {}
