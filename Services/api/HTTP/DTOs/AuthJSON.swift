import Foundation
import Hummingbird

/// The answer to `POST /api/auth/login/` (seed 002).
struct LoginJSON: ResponseEncodable, Sendable {
    /// The `agent` object of the login answer.
    struct AgentSummary: Encodable, Sendable {
        let id: String
        let isAvailable: Bool
        let specialty: String
        let role: Agent.Role
        let isActive: Bool

        enum CodingKeys: String, CodingKey {
            case id, specialty, role
            case isAvailable = "is_available"
            case isActive = "is_active"
        }
    }

    let token: String
    let user: UserJSON
    let agent: AgentSummary

    init(token: String, agent: Agent) {
        self.token = token
        user = UserJSON(agent)
        self.agent = AgentSummary(
            id: agent.uuid, isAvailable: agent.isAvailable, specialty: agent.specialty, role: agent.role,
            isActive: agent.isActive)
    }
}

/// `{"message": …}`: an action that returns nothing but a confirmation.
struct ConfirmationJSON: ResponseEncodable, Sendable {
    let message: String
}
