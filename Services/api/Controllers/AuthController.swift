import Foundation
import Hummingbird

/// `POST /api/auth/login/` and `POST /api/auth/logout/` as seed 002 shows them. Logins are throttled per username
/// and per client (`LoginThrottle`), and bcrypt runs on its own bounded pool (`PasswordHasher`): both answer 429.
struct AuthController {
    let agents: AgentStore
    let throttle: LoginThrottle
    /// Told when a session ends, so that its WebSockets close on every instance.
    let live: any LivePublisher
    let audit: AuditStore

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("api/auth/login", use: login)
        router.post("api/auth/logout", use: logout)
    }

    struct Credentials: Decodable {
        let username: String
        let password: String
        /// The second factor, for agents who have one: a TOTP code or a recovery code.
        let otp: String?
    }

    @Sendable func login(_ request: Request, context: APIRequestContext) async throws -> LoginJSON {
        let credentials = try JSONDecoder().decode(
            Credentials.self, from: try await request.collectBody(upTo: 16 << 10))
        guard !credentials.username.isEmpty, !credentials.password.isEmpty, credentials.password.count <= 200 else {
            throw APIError.badRequest("Usuario y contraseña son obligatorios")
        }
        let client = context.clientAddress.rateLimitKey
        let address = "\(context.clientAddress)"
        if let wait = throttle.admit(username: credentials.username, client: client) {
            try? await audit.record(
                Self.attempt("auth.login_blocked", username: credentials.username, address: address))
            context.logger.notice(
                "login refused: too many failures",
                metadata: ["username": "\(credentials.username.prefix(64))", "client": "\(context.clientAddress)"])
            throw APIError(
                status: .tooManyRequests,
                detail: "Demasiados intentos fallidos de inicio de sesión. Intenta de nuevo en \(Self.minutes(wait)).",
                headers: [.retryAfter: String(wait)])
        }
        let outcome: AgentStore.LoginOutcome
        do {
            outcome = try await agents.login(
                username: credentials.username, password: credentials.password,
                code: credentials.otp.map {
                    String($0.prefix(40))
                })
        } catch {
            throttle.undecided(username: credentials.username, client: client)
            throw error
        }
        let token: String
        let agent: Agent
        switch outcome {
        case .session(let opened, let who):
            token = opened
            agent = who
        case .refused:
            context.logger.notice(
                "failed login",
                metadata: ["username": "\(credentials.username.prefix(64))", "client": "\(context.clientAddress)"])
            try? await audit.record(Self.attempt("auth.login_failed", username: credentials.username, address: address))
            throw APIError(status: .unauthorized, detail: "Usuario o contraseña incorrectos")
        case .secondFactor(.missing, _):
            // Not a failure: the panel asks for the code and tries again.
            throttle.undecided(username: credentials.username, client: client)
            throw APIError(
                status: .unauthorized, detail: "Falta el código de verificación en dos pasos",
                extra: ["two_factor_required": .bool(true)])
        case .secondFactor(.mustEnrol, let who):
            throttle.undecided(username: credentials.username, client: client)
            let setup = try await agents.issueSetupToken(agentID: who.id)
            throw APIError(
                status: .forbidden,
                detail: "Un administrador exige la verificación en dos pasos: actívala para entrar",
                extra: ["two_factor_setup_required": .bool(true), "setup_token": .string(setup)])
        case .secondFactor(_, let who):
            try? await audit.record(AuditEntry("auth.login_2fa_failed", by: who, address: address))
            throw APIError(
                status: .unauthorized, detail: "Código de verificación incorrecto",
                extra: ["two_factor_required": .bool(true)])
        }
        throttle.succeeded(username: credentials.username, client: client)
        try await audit.record(AuditEntry("auth.login", by: agent, address: address))
        return LoginJSON(token: token, agent: agent)
    }

    @Sendable func logout(_ request: Request, context: APIRequestContext) async throws -> ConfirmationJSON {
        guard let token = request.authorizationToken, let agent = try await agents.agent(forToken: token) else {
            throw APIError.unauthorized
        }
        try await agents.logout(token: token)
        try await audit.record(AuditEntry("auth.logout", by: agent, address: "\(context.clientAddress)"))
        live.sessionsRevoked(agent)
        return ConfirmationJSON(message: "Successfully logged out")
    }

    /// A login attempt by someone who is not (yet) an agent: the username they tried is what identifies it.
    static func attempt(_ action: String, username: String, address: String) -> AuditEntry {
        var entry = AuditEntry(action, by: nil, address: address)
        entry.actorName = username
        return entry
    }

    /// `1 minuto`, `15 minutos` (a wait in seconds, rounded up).
    static func minutes(_ seconds: Int) -> String {
        let minutes = max(1, (seconds + 59) / 60)
        return minutes == 1 ? "1 minuto" : "\(minutes) minutos"
    }

}
