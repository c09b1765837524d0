import Foundation
import Hummingbird

/// The web visitor's side of seed 002: start a chat, complete the profile, validate the session, write, see the
/// chat's status and their notifications. Errors are `{"error": …}` with the seed's status codes.
struct GuestChatController {
    let conversations: Conversations
    let sessions: GuestSessions
    let notifications: NotificationStore
    let agents: AgentStore
    let settings: APISettings
    let recaptcha: RecaptchaVerifier?

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("api/chat/config", use: config)
        router.post("api/chat/start_chat", use: start)
        router.post("api/chat/complete_chat", use: complete)
        router.post("api/chat/validate_session", use: validate)
        router.post("api/chat/send_message", use: send)
        router.post("api/messages/send_guest_message", use: send)
        router.get("api/chat/get_chat_status", use: status)
        router.get("api/user-notifications/get_notifications", use: userNotifications)
        router.post("api/user-notifications/mark_read", use: markUserNotificationsRead)
    }

    /// `GET /api/chat/config` (public): what the guest page needs before its form — the reCAPTCHA widget to show
    /// (site key, `v2` checkbox or `v3` score, script URL), or `null` when the check is off.
    @Sendable func config(_ request: Request, context: APIRequestContext) async throws -> GuestChatConfigJSON {
        guard recaptcha != nil, let siteKey = settings.recaptchaSiteKey else { return GuestChatConfigJSON() }
        return GuestChatConfigJSON(
            recaptcha: .init(
                siteKey: siteKey, version: settings.recaptchaVersion, scriptURL: settings.recaptchaScriptURL))
    }

    struct StartBody: Decodable {
        let initialMessage: String?
        enum CodingKeys: String, CodingKey { case initialMessage = "initial_message" }
    }

    @Sendable func start(_ request: Request, context: APIRequestContext) async throws -> StartChatJSON {
        let body = try await request.decodeJSON(StartBody.self, limit: 16 << 10)
        let message: String
        do {
            message = try TextRules.message(body.initialMessage ?? "")
        } catch .empty {
            throw APIError.badRequest("El mensaje inicial no puede estar vacío")
        } catch {
            throw APIError.badRequest("El mensaje inicial excede \(TextRules.maximumMessageLength) caracteres")
        }
        do {
            let session = try await conversations.startGuestSession(
                initialMessage: message, ip: context.clientAddress.rateLimitKey, settings: settings)
            return StartChatJSON(sessionID: session.id, expiresIn: Int(settings.guestSessionLifetime))
        } catch GuestSessions.Problem.tooManyChats {
            throw APIError(
                status: .tooManyRequests,
                detail: "Has creado demasiados chats recientemente. Por favor intenta más tarde.",
                headers: [.retryAfter: String(Int(settings.guestChatWindow))])
        }
    }

    struct CompleteBody: Decodable {
        let sessionID: String?
        let email: String?
        let fullName: String?
        let phoneNumber: String?
        let recaptchaToken: String?
        enum CodingKeys: String, CodingKey {
            case email
            case sessionID = "session_id"
            case fullName = "full_name"
            case phoneNumber = "phone_number"
            case recaptchaToken = "recaptcha_token"
        }
    }

    @Sendable func complete(_ request: Request, context: APIRequestContext) async throws -> CompleteChatJSON {
        let body = try await request.decodeJSON(CompleteBody.self, limit: 16 << 10)
        let sessionID = try body.sessionID.required(field: "session_id")
        var problems: [String: JSONValue] = [:]
        var name = ""
        do {
            name = try TextRules.name(body.fullName ?? "", minimumLength: 2)
        } catch {
            problems["full_name"] = .string(
                error == .forbiddenCharacters
                    ? error.nameReason : "Escribe tu nombre (de 2 a 120 caracteres, sin caracteres de control)")
        }
        let email = body.email?.trimmingCharacters(in: .whitespaces) ?? ""
        if !Self.isEmail(email) { problems["email"] = "Correo electrónico no válido" }
        let phone = body.phoneNumber?.trimmingCharacters(in: .whitespaces) ?? ""
        if !Self.isPhone(phone) {
            problems["phone_number"] = "Teléfono no válido (7 a 15 dígitos, puede empezar con +)"
        }
        guard problems.isEmpty else {
            throw APIError(
                status: .badRequest, detail: "Revisa tus datos de contacto", extra: ["fields": .object(problems)])
        }
        if let recaptcha {
            guard await recaptcha.verify(body.recaptchaToken ?? "", remoteIP: context.clientAddress.ip?.description)
            else {
                throw APIError.badRequest("No pudimos verificar que no eres un robot (reCAPTCHA). Intenta de nuevo.")
            }
        }
        let opened = try await conversations.openGuestChat(
            sessionID: sessionID, claims: .init(name: name, email: email, phone: phone))
        return CompleteChatJSON(roomID: opened.roomUUID, userName: name, roomToken: opened.token)
    }

    struct SessionBody: Decodable {
        let sessionID: String?
        enum CodingKeys: String, CodingKey { case sessionID = "session_id" }
    }

    @Sendable func validate(_ request: Request, context: APIRequestContext) async throws -> SessionStateJSON {
        let body = try await request.decodeJSON(SessionBody.self, limit: 4 << 10)
        let id = try body.sessionID.required(field: "session_id")
        guard let session = try await sessions.find(id) else { return .unknown }
        return SessionStateJSON(
            valid: session.isValid(at: conversations.clock.now()), hasMessage: session.hasMessage,
            createdAt: session.createdAt, completed: session.completed)
    }

    struct SendBody: Decodable {
        let chatRoomID: String?
        let content: String?
        enum CodingKeys: String, CodingKey {
            case content
            case chatRoomID = "chat_room_id"
        }
    }

    /// A visitor writes in their room (with their room token).
    @Sendable func send(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<MessageJSON> {
        let body = try await request.decodeJSON(SendBody.self)
        let room = try body.chatRoomID.required(field: "chat_room_id")
        guard case .guest = context.caller else {
            throw context.caller == nil
                ? APIError.unauthorized : APIError.forbidden("Solo el cliente de este chat puede usar esta ruta")
        }
        let text = try Parameters.messageText(body.content)
        let ticket = try await conversations.ticket(room, for: context.caller, to: .write)
        let posted = try await conversations.post(
            text, clientID: nil, by: .guest(ticketID: ticket.id), in: ticket.id,
            address: context.clientAddress.rateLimitKey)
        guard let message = try await conversations.messages.find(posted.messageID, ticketID: ticket.id, for: .customer)
        else {
            throw ConversationProblem.notFound
        }
        return EditedResponse(status: .created, response: MessageJSON(message))
    }

    @Sendable func status(_ request: Request, context: APIRequestContext) async throws -> ChatStatusJSON {
        guard let caller = context.caller else { throw APIError.unauthorized }
        let uuid = try request.uri.queryParameters["chat_room_id"].map(String.init).required(parameter: "chat_room_id")
        let ticket = try await conversations.ticket(uuid, for: caller, to: .read)
        guard let summary = try await conversations.tickets.summary(id: ticket.id) else {
            throw ConversationProblem.notFound
        }
        let agent = try await summary.assignedAgentID.asyncMap { try await agents.find(String($0)) } ?? nil
        let unread = try await conversations.messages.unreadCount(ticketID: ticket.id, for: ReaderSide(caller))
        return ChatStatusJSON(
            roomID: summary.uuid, status: summary.roomStatus, agentAssigned: agent != nil,
            agentName: agent?.displayName, createdAt: summary.createdAt, unreadMessages: unread)
    }

    @Sendable func userNotifications(_ request: Request, context: APIRequestContext) async throws
        -> NotificationListJSON
    {
        let uuid = try request.uri.queryParameters["chat_room_id"].map(String.init).required(parameter: "chat_room_id")
        let ticket = try await conversations.ticket(uuid, for: context.caller, to: .read)
        return NotificationListJSON(try await notifications.forCustomer(ticketID: ticket.id))
    }

    struct MarkBody: Decodable {
        let chatRoomID: String?
        let notificationIDs: [FlexibleString]?
        enum CodingKeys: String, CodingKey {
            case chatRoomID = "chat_room_id"
            case notificationIDs = "notification_ids"
        }
    }

    @Sendable func markUserNotificationsRead(_ request: Request, context: APIRequestContext) async throws -> MarkedJSON
    {
        guard context.caller != nil else { throw APIError.unauthorized }
        let body = try await request.decodeJSON(MarkBody.self)
        let ticket = try await conversations.ticket(
            try body.chatRoomID.required(field: "chat_room_id"), for: context.caller, to: .read)
        let marked = try await notifications.markReadForCustomer(
            ticketID: ticket.id, ids: try body.notificationIDs.map { try Parameters.ids($0, field: "notification_ids") }
        )
        return MarkedJSON(marked: marked)
    }

    static func isEmail(_ text: String) -> Bool {
        guard text.count <= 254, let at = text.firstIndex(of: "@"), text.filter({ $0 == "@" }).count == 1 else {
            return false
        }
        let local = text[..<at]
        let domain = text[text.index(after: at)...]
        return !local.isEmpty && domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".")
            && !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
    }

    static func isPhone(_ text: String) -> Bool {
        let digits = text.filter(\.isASCIIDigit)
        return (7...15).contains(digits.count) && text.allSatisfy { $0.isASCIIDigit || " +-().".contains($0) }
            && !text.dropFirst().contains("+")
    }
}
