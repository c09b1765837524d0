import Foundation
import Hummingbird

/// `GET/PUT /api/settings/assignment`: auto-assignment, for admins (`AutoAssignment`).
struct SettingsController {
    let conversations: Conversations

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/settings/assignment", use: assignment)
        group.put("api/settings/assignment", use: setAssignment)
        group.patch("api/settings/assignment", use: setAssignment)
    }

    struct Body: Decodable {
        let enabled: Bool?
        let capacity: Int?
    }

    @Sendable func assignment(_ request: Request, context: APIRequestContext) async throws -> AssignmentPolicyJSON {
        _ = try context.requireAdmin(to: "ver la asignación automática")
        return AssignmentPolicyJSON(try await conversations.assignmentPolicy())
    }

    @Sendable func setAssignment(_ request: Request, context: APIRequestContext) async throws -> AssignmentPolicyJSON {
        let admin = try context.requireAdmin(to: "cambiar la asignación automática")
        let body = try await request.decodeJSON(Body.self)
        guard body.enabled != nil || body.capacity != nil else {
            throw APIError.badRequest("Indique 'enabled' o 'capacity'")
        }
        var policy = try await conversations.assignmentPolicy()
        if let enabled = body.enabled { policy.enabled = enabled }
        if let capacity = body.capacity {
            let range = AutoAssignment.Policy.capacityRange
            guard range.contains(capacity) else {
                throw APIError.badRequest(
                    "'capacity' debe estar entre \(range.lowerBound) y \(range.upperBound) chats por agente")
            }
            policy.capacity = capacity
        }
        try await conversations.setAssignmentPolicy(policy, by: admin)
        return AssignmentPolicyJSON(policy)
    }
}

struct AssignmentPolicyJSON: ResponseEncodable, Sendable {
    let enabled: Bool
    let capacity: Int

    init(_ policy: AutoAssignment.Policy) {
        enabled = policy.enabled
        capacity = policy.capacity
    }
}
