import Foundation
import Testing

@testable import MostradorAPI

/// The keys of the main response shapes, exactly: a key the seeds' clients read must not disappear, an empty value
/// stays as `null` rather than a missing key, and no key appears beyond the seeds' and our documented additions
/// (`etiquetas`, `fuera_de_horario`, `labels`).
@Suite struct WireShapeTests {
    static let ticketKeys: Set = [
        "id", "uuid", "estado", "channel", "categoria", "confianza", "requiere_revision", "nombre", "telefono",
        "telefono_verificado", "descripcion", "equipo", "activo", "ubicacion", "agente_asignado", "ultimo_mensaje",
        "created_at",
        "updated_at", "last_message_at", "first_response_at", "resolved_at", "closed_at", "cliente_id", "etiquetas",
        "fuera_de_horario",
    ]
    static let roomKeys: Set = [
        "id", "ticket_id", "subject", "status", "estado", "channel", "categoria", "chat_user", "agent", "created_at",
        "updated_at", "resolved_at", "closed_at", "initial_message", "unread_messages_count", "last_message",
        "last_message_at", "labels",
    ]
    static let messageKeys: Set = [
        "id", "chat_room_ticket_id", "content", "sender_type", "role", "message_type", "created_at", "is_read",
        "read_at",
    ]
    static let historyKeys: Set = ["id", "role", "content", "timestamp", "tipo"]
    static let liveMessageKeys: Set = [
        "id", "timestamp", "autor", "contenido", "tipo", "estado", "role", "content", "client_id", "estado_entrega",
        "error_entrega", "intento", "archivos",
    ]

    @Test func ticketsShowEverySeedKeyEvenWhenEmpty() async throws {
        try await APITestSystem.with { api in
            // No device named: the intake leaves `equipo` (and `activo`, `ubicacion`) empty.
            let ticket = try await api.whatsapp("5215550001234@s.whatsapp.net", "no prende desde ayer")
            let admin = try await api.admin()
            let list = try await api.call(.get, "/tickets", authorization: admin).list()
            let listed = try #require(list.first)
            #expect(Set(listed.keys) == Self.ticketKeys)
            for key in [
                "confianza", "equipo", "activo", "ubicacion", "agente_asignado", "resolved_at", "closed_at",
                "first_response_at",
            ] {
                #expect(listed[key] is NSNull, Comment(rawValue: key))
            }
            let conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()
            // Seed 001's two keys, and the WhatsApp window of a WhatsApp ticket.
            #expect(Set(conversation.keys) == ["historial", "ticket", "ventana_whatsapp"])
            #expect(Set(try #require(conversation["ticket"] as? [String: Any]).keys) == Self.ticketKeys)
        }
    }

    @Test func roomsKeepSeed002KeysWithAnEmptyAgentAsNull() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat()
            let admin = try await api.admin()
            let room = try await api.call(.get, "/api/chatrooms/\(chat.room)/", authorization: admin).json()
            #expect(Set(room.keys) == Self.roomKeys)
            #expect(room["agent"] is NSNull)
            #expect(room["resolved_at"] is NSNull)
            let user = try #require(room["chat_user"] as? [String: Any])
            #expect(Set(user.keys) == ["full_name", "email", "phone_number", "verificado"])

            let taken = try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: admin).json()
            #expect(Set(taken.keys) == Self.roomKeys)
            let agent = try #require(taken["agent"] as? [String: Any])
            #expect(Set(agent.keys) == ["id", "numeric_id", "user"])
            #expect(Set(try #require(agent["user"] as? [String: Any]).keys) == ["first_name", "last_name", "username"])
        }
    }

    @Test func messageKeysDependOnTheSender() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat()
            let admin = try await api.admin()
            let sent = try await api.call(
                .post, "/api/chatrooms/\(chat.room)/send_message/", authorization: admin, json: ["content": "hola"])
            #expect(sent.status == 201)
            let messages = try await api.call(.get, "/api/chatrooms/\(chat.room)/messages/", authorization: admin)
                .list()
            let customer = try #require(messages.first { $0["role"] as? String == "user" })
            #expect(Set(customer.keys) == Self.messageKeys)
            let technician = try #require(messages.first { $0["role"] as? String == "tecnico" })
            #expect(Set(technician.keys) == Self.messageKeys.union(["agent_sender"]))
            #expect(technician["sender_type"] as? String == "agent")
            #expect(Set(try sent.json().keys) == Self.messageKeys.union(["agent_sender"]))
        }
    }

    @Test func historyItemKeysDependOnDeliveryAndAttachment() async throws {
        try await APITestSystem.with { api in
            // No device named: the intake leaves `equipo` (and `activo`, `ubicacion`) empty.
            let ticket = try await api.whatsapp("5215550001234@s.whatsapp.net", "no prende desde ayer")
            let admin = try await api.admin()
            _ = try await api.call(
                .post, "/ticket/\(ticket)/enviar-mensaje", authorization: admin, json: ["mensaje": "¿Qué modelo?"])
            let conversation = try await api.call(.get, "/ticket/\(ticket)/conversacion", authorization: admin).json()
            let history = try #require(conversation["historial"] as? [[String: Any]])
            let inbound = try #require(history.first { $0["role"] as? String == "user" })
            #expect(Set(inbound.keys) == Self.historyKeys)
            let outbound = try #require(history.first { $0["role"] as? String == "tecnico" })
            #expect(Set(outbound.keys) == Self.historyKeys.union(["estado_entrega", "intento", "error_entrega"]))
            #expect(outbound["error_entrega"] is NSNull)
        }
    }

    @Test func liveMessageFramesKeepSeed003Keys() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat()
            let hub = LiveHub(messages: api.components.conversations.messages, logger: .init(label: "test"))
            let socket = LiveConnection(id: "c")
            await hub.join(
                ticketID: chat.ticket,
                client: .init(id: "c", userID: "cliente", name: "Visitante", kind: "CLIENTE", socket: socket),
                lastMessageID: 0)
            await hub.handle(LiveEvent(ticketID: chat.ticket, kind: .messages))
            await hub.leave(ticketID: chat.ticket, clientID: "c")
            var received: [String] = []
            for await frame in socket.frames { received.append(frame) }
            let text = try #require(received.first)
            let frame = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(Set(frame.keys) == ["tipo", "data"])
            #expect(frame["tipo"] as? String == "mensaje_recibido")
            let message = try #require(frame["data"] as? [String: Any])
            #expect(Set(message.keys) == Self.liveMessageKeys)
            #expect(message["client_id"] is NSNull)
            #expect(message["estado_entrega"] is NSNull)
            #expect(Set(try #require(message["autor"] as? [String: Any]).keys) == ["id", "nombre", "tipo"])
            let timestamp = try #require(message["timestamp"] as? String)
            #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        }
    }
}
