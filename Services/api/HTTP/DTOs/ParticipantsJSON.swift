import Foundation
import Hummingbird

/// `GET /api/chatrooms/{room}/participants`: the chat's technicians, its owner (`responsable`) first.
struct ParticipantsJSON: ResponseEncodable, Sendable {
    struct Person: Encodable, Sendable {
        /// The agent's UUID.
        let id: String
        let numericID: Int64
        let name: String
        let username: String
        /// `responsable` (the assigned agent) or `participante`.
        let role: String
        /// When a participant was added, and by whom (numeric id; null for the owner, or when that agent is gone).
        @Nullable var since: Date?
        @Nullable var invitedBy: Int64?

        enum CodingKeys: String, CodingKey {
            case id, username
            case numericID = "numeric_id"
            case name = "nombre"
            case role = "rol"
            case since = "desde"
            case invitedBy = "invitado_por"
        }

        init(_ agent: Agent, role: String, since: Date? = nil, invitedBy: Int64? = nil) {
            id = agent.uuid
            numericID = agent.id
            name = agent.displayName
            username = agent.username
            self.role = role
            self.since = since
            self.invitedBy = invitedBy
        }
    }

    let ticketID: Int64
    let roomID: String
    @Nullable var owner: Person?
    let participants: [Person]

    enum CodingKeys: String, CodingKey {
        case ticketID = "ticket_id"
        case roomID = "chat_id"
        case owner = "responsable"
        case participants = "participantes"
    }

    init(_ participants: Conversations.Participants, room: String) {
        ticketID = participants.ticketID
        roomID = room
        let owner = participants.owner.map { Person($0, role: "responsable") }
        self.owner = owner
        self.participants =
            (owner.map { [$0] } ?? [])
            + participants.members.map {
                Person($0.agent, role: "participante", since: $0.addedAt, invitedBy: $0.addedBy)
            }
    }
}
