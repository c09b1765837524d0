import Foundation
import Hummingbird

/// `GET/PUT /api/settings/assignment`: auto-assignment, for admins (`AutoAssignment`); `GET/PUT
/// /api/settings/business-hours`: opening hours (`BusinessHours`; agents read them, admins change them).
struct SettingsController {
    let conversations: Conversations

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/settings/assignment", use: assignment)
        group.put("api/settings/assignment", use: setAssignment)
        group.patch("api/settings/assignment", use: setAssignment)
        group.get("api/settings/business-hours", use: businessHours)
        group.put("api/settings/business-hours", use: setBusinessHours)
    }

    @Sendable func businessHours(_ request: Request, context: APIRequestContext) async throws -> BusinessHoursJSON {
        _ = try context.requireAgent
        return BusinessHoursJSON(hours: try await conversations.businessHours())
    }

    /// The whole setting at once (what is left out takes its default).
    @Sendable func setBusinessHours(_ request: Request, context: APIRequestContext) async throws -> BusinessHoursJSON {
        let admin = try context.requireAdmin(to: "cambiar el horario de atención")
        let hours: BusinessHours
        do {
            hours = try await request.decodeJSON(BusinessHours.self).validated()
        } catch let invalid as BusinessHours.Invalid {
            throw APIError.badRequest(invalid.reason)
        }
        try await conversations.setBusinessHours(hours, by: admin)
        return BusinessHoursJSON(hours: hours)
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

struct BusinessHoursJSON: ResponseEncodable, Sendable {
    let hours: BusinessHours
    func encode(to encoder: any Encoder) throws { try hours.encode(to: encoder) }
}
