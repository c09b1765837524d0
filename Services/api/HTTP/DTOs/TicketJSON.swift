import Foundation
import Hummingbird
import MostradorContracts

/// A ticket of `GET /tickets` and `GET /ticket/{id}/conversacion` (seeds 000/001).
struct TicketJSON: Encodable, Sendable {
    let id: Int64
    let uuid: String
    let status: TicketStatus
    let channel: Channel
    /// The customer (`GET /api/customers/{id}`: the person's history).
    let customerID: Int64
    let category: String
    @Nullable var confidence: Double?
    let needsReview: Bool
    @Nullable var name: String?
    @Nullable var phone: String?
    let phoneVerified: Bool
    @Nullable var description: String?
    @Nullable var equipment: String?
    @Nullable var assetTag: String?
    @Nullable var location: String?
    @Nullable var assignedAgentID: Int64?
    @Nullable var lastMessage: String?
    let createdAt: Date
    let updatedAt: Date
    @Nullable var lastMessageAt: Date?
    @Nullable var firstResponseAt: Date?
    @Nullable var resolvedAt: Date?
    @Nullable var closedAt: Date?
    let labels: [TicketLabelJSON]
    /// The customer's first message came outside business hours.
    let outOfHours: Bool

    enum CodingKeys: String, CodingKey {
        case id, uuid, channel
        case customerID = "cliente_id"
        case status = "estado"
        case category = "categoria"
        case confidence = "confianza"
        case needsReview = "requiere_revision"
        case name = "nombre"
        case phone = "telefono"
        case phoneVerified = "telefono_verificado"
        case description = "descripcion"
        case equipment = "equipo"
        case assetTag = "activo"
        case location = "ubicacion"
        case assignedAgentID = "agente_asignado"
        case lastMessage = "ultimo_mensaje"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case lastMessageAt = "last_message_at"
        case firstResponseAt = "first_response_at"
        case resolvedAt = "resolved_at"
        case closedAt = "closed_at"
        case labels = "etiquetas"
        case outOfHours = "fuera_de_horario"
    }

    init(_ ticket: TicketSummary) {
        id = ticket.id
        uuid = ticket.uuid
        status = ticket.status
        channel = ticket.channel
        customerID = ticket.customerID
        category = ticket.category
        confidence = ticket.confidence
        needsReview = ticket.needsReview
        name = ticket.customerName
        phone = ticket.phone
        phoneVerified = ticket.phoneVerified
        description = ticket.description
        equipment = ticket.equipment
        assetTag = ticket.assetTag
        location = ticket.location
        assignedAgentID = ticket.assignedAgentID
        lastMessage = ticket.lastMessage
        createdAt = ticket.createdAt
        updatedAt = ticket.updatedAt
        lastMessageAt = ticket.lastMessageAt
        firstResponseAt = ticket.firstResponseAt
        resolvedAt = ticket.resolvedAt
        closedAt = ticket.closedAt
        labels = ticket.labels.map(TicketLabelJSON.init)
        outOfHours = ticket.outOfHours
    }
}

/// `GET /ticket/{id}/conversacion` (seed 001): the messages and the ticket.
struct ConversationJSON: ResponseEncodable, Sendable {
    let history: [HistoryItemJSON]
    let ticket: TicketJSON
    /// WhatsApp tickets only.
    let window: ServiceWindowJSON?

    enum CodingKeys: String, CodingKey {
        case ticket
        case history = "historial"
        case window = "ventana_whatsapp"
    }
}

/// `ventana_whatsapp`: whether the conversation's channel limits a business to templates 24 h after the customer's
/// last message (the Cloud API), when that window closes and whether it is open now.
struct ServiceWindowJSON: Encodable, Sendable {
    let applies: Bool
    @Nullable var closesAt: Date?
    let open: Bool

    enum CodingKeys: String, CodingKey {
        case applies = "aplica"
        case closesAt = "cierra"
        case open = "abierta"
    }

    init(_ window: ServiceWindow, now: Date) {
        applies = window.applies
        closesAt = window.closesAt
        open = window.isOpen(at: now)
    }
}

/// The answer of `enviar-mensaje` and `notificar` when the message went out (seeds 001/004).
struct SendResultJSON: ResponseEncodable, Sendable {
    let status = "enviado"
    let message = "Mensaje enviado correctamente"
    let ticketID: Int64
    let messageID: Int64
    @Nullable var phone: String?
    /// Only for `notificar`.
    let template: String?
    /// Only for WhatsApp tickets (what the relay answered).
    let deliveryStatus: DeliveryStatus?

    enum CodingKeys: String, CodingKey {
        case status
        case message = "mensaje"
        case ticketID = "ticket_id"
        case messageID = "mensaje_id"
        case phone = "telefono"
        case template = "plantilla"
        case deliveryStatus = "estado_entrega"
    }
}
