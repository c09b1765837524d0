import Foundation
import Hummingbird
import MostradorSQL

/// Two-factor authentication (`AgentStore+TwoFactor`). An agent's own calls take their session, or — for an agent
/// an admin obliges to enrol, who gets no session until they do — the `setup_token` of the login's answer:
///
/// - `GET /api/auth/2fa`: whether it is on, required, and how many recovery codes are left;
/// - `POST /api/auth/2fa/setup`: a new secret, its `otpauth://` URI and a QR code (SVG) to scan;
/// - `POST /api/auth/2fa/enable {"code"}`: confirms with a code from the app; answers the ten recovery codes, once;
/// - `POST /api/auth/2fa/disable {"password"}`: turns it off (refused while an admin requires it).
///
/// Admins: `PUT /api/agents/{id}/2fa {"required"}`, `DELETE /api/agents/{id}/2fa` (reset, for a lost phone: their
/// sessions end), `GET/PUT /api/settings/two-factor {"required_for_all"}`.
struct TwoFactorController {
    let agents: AgentStore
    let live: any LivePublisher
    static let issuer = "Mostrador"

    func addPublicRoutes(to router: Router<APIRequestContext>) {
        router.get("api/auth/2fa", use: state)
        router.post("api/auth/2fa/setup", use: setup)
        router.post("api/auth/2fa/enable", use: enable)
        router.post("api/auth/2fa/disable", use: disable)
    }

    func addAdminRoutes(to group: RouterGroup<APIRequestContext>) {
        group.put("api/agents/:agent/2fa", use: require)
        group.delete("api/agents/:agent/2fa", use: reset)
        group.get("api/settings/two-factor", use: policy)
        group.put("api/settings/two-factor", use: setPolicy)
    }

    struct Body: Decodable {
        let setupToken: String?
        let code: String?
        let password: String?

        enum CodingKeys: String, CodingKey {
            case code, password
            case setupToken = "setup_token"
        }
    }

    /// The agent of the session, or of the setup token in the body.
    func caller(_ request: Request, body: Body? = nil) async throws -> Agent {
        if let token = request.authorizationToken, let agent = try await agents.agent(forToken: token) {
            return agent
        }
        if let setup = body?.setupToken, !setup.isEmpty, setup.count <= 200,
            let agent = try await agents.agent(forSetupToken: setup)
        {
            return agent
        }
        throw APIError.unauthorized
    }

    @Sendable func state(_ request: Request, context: APIRequestContext) async throws -> TwoFactorStateJSON {
        let agent = try await caller(request)
        return TwoFactorStateJSON(try await agents.twoFactorState(agentID: agent.id))
    }

    @Sendable func setup(_ request: Request, context: APIRequestContext) async throws -> TwoFactorSetupJSON {
        let body = try await request.decodeJSON(Body.self, limit: 4 << 10)
        let agent = try await caller(request, body: body)
        let totp = try await Self.mapping { try await agents.beginTwoFactorSetup(agentID: agent.id) }
        let uri = totp.uri(account: agent.username, issuer: Self.issuer)
        return TwoFactorSetupJSON(secret: totp.base32, otpauthURI: uri, qrSVG: (try? QRCode(uri))?.svg(scale: 5))
    }

    @Sendable func enable(_ request: Request, context: APIRequestContext) async throws -> RecoveryCodesJSON {
        let body = try await request.decodeJSON(Body.self, limit: 4 << 10)
        let agent = try await caller(request, body: body)
        guard let code = body.code, !code.isEmpty else { throw APIError.badRequest("Falta 'code' (los 6 dígitos)") }
        let codes = try await Self.mapping {
            try await agents.enableTwoFactor(agentID: agent.id, code: String(code.prefix(20)), by: agent)
        }
        return RecoveryCodesJSON(recoveryCodes: codes)
    }

    @Sendable func disable(_ request: Request, context: APIRequestContext) async throws -> TwoFactorStateJSON {
        let body = try await request.decodeJSON(Body.self, limit: 4 << 10)
        guard let token = request.authorizationToken, let agent = try await agents.agent(forToken: token) else {
            throw APIError.unauthorized
        }
        guard let password = body.password, !password.isEmpty, password.count <= 200 else {
            throw APIError.badRequest("Falta 'password'")
        }
        guard try await agents.passwordMatches(agentID: agent.id, password) else {
            throw APIError(status: .forbidden, detail: "Contraseña incorrecta")
        }
        try await Self.mapping { try await agents.disableTwoFactor(agentID: agent.id, by: agent, reset: false) }
        return TwoFactorStateJSON(try await agents.twoFactorState(agentID: agent.id))
    }

    struct RequireBody: Decodable {
        let required: Bool?
    }

    @Sendable func require(_ request: Request, context: APIRequestContext) async throws -> TwoFactorStateJSON {
        let admin = try context.requireAdmin(to: "exigir la verificación en dos pasos")
        let target = try await find(context)
        guard let required = try await request.decodeJSON(RequireBody.self).required else {
            throw APIError.badRequest("Falta 'required' (true o false)")
        }
        return TwoFactorStateJSON(
            try await Self.mapping { try await agents.requireTwoFactor(agentID: target.id, required, by: admin) })
    }

    @Sendable func reset(_ request: Request, context: APIRequestContext) async throws -> TwoFactorStateJSON {
        let admin = try context.requireAdmin(to: "restablecer la verificación en dos pasos")
        let target = try await find(context)
        try await Self.mapping { try await agents.disableTwoFactor(agentID: target.id, by: admin, reset: true) }
        // Their sessions end: whoever holds the lost phone and a session is out.
        try await agents.endSessions(agentID: target.id)
        live.sessionsRevoked(target)
        return TwoFactorStateJSON(try await agents.twoFactorState(agentID: target.id))
    }

    struct PolicyBody: Decodable {
        let requiredForAll: Bool?
        enum CodingKeys: String, CodingKey { case requiredForAll = "required_for_all" }
    }

    @Sendable func policy(_ request: Request, context: APIRequestContext) async throws -> TwoFactorPolicyJSON {
        _ = try context.requireAdmin(to: "ver la política de verificación en dos pasos")
        return TwoFactorPolicyJSON(requiredForAll: try await agents.twoFactorPolicy().requiredForAll)
    }

    @Sendable func setPolicy(_ request: Request, context: APIRequestContext) async throws -> TwoFactorPolicyJSON {
        let admin = try context.requireAdmin(to: "cambiar la política de verificación en dos pasos")
        guard let required = try await request.decodeJSON(PolicyBody.self).requiredForAll else {
            throw APIError.badRequest("Falta 'required_for_all' (true o false)")
        }
        try await agents.setTwoFactorPolicy(AgentStore.TwoFactorPolicy(requiredForAll: required), by: admin)
        return TwoFactorPolicyJSON(requiredForAll: required)
    }

    func find(_ context: APIRequestContext) async throws -> Agent {
        guard let key = context.parameters.get("agent"), let agent = try await agents.find(key) else {
            throw APIError.notFound("Agente no encontrado")
        }
        return agent
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch AgentStore.TwoFactorProblem.noPendingSetup {
            throw APIError(status: .conflict, detail: "Primero pide un secreto nuevo (POST /api/auth/2fa/setup)")
        } catch AgentStore.TwoFactorProblem.wrongCode {
            throw APIError.badRequest("El código no coincide: revisa la hora del teléfono e inténtalo de nuevo")
        } catch AgentStore.TwoFactorProblem.alreadyEnabled {
            throw APIError(status: .conflict, detail: "La verificación en dos pasos ya está activada")
        } catch AgentStore.TwoFactorProblem.requiredByAdmin {
            throw APIError(
                status: .conflict, detail: "Un administrador exige la verificación en dos pasos: no se puede desactivar"
            )
        } catch AgentStore.TwoFactorProblem.notFound {
            throw APIError.notFound("Agente no encontrado")
        }
    }
}

struct TwoFactorStateJSON: ResponseEncodable, Sendable {
    let enabled: Bool
    let required: Bool
    let requiredForAgent: Bool
    let recoveryCodesLeft: Int

    enum CodingKeys: String, CodingKey {
        case enabled, required
        case requiredForAgent = "required_for_agent"
        case recoveryCodesLeft = "recovery_codes_left"
    }

    init(_ state: AgentStore.TwoFactorState) {
        enabled = state.enabled
        required = state.required
        requiredForAgent = state.requiredForAgent
        recoveryCodesLeft = state.recoveryCodesLeft
    }
}

struct TwoFactorSetupJSON: ResponseEncodable, Sendable {
    let secret: String
    let otpauthURI: String
    @Nullable var qrSVG: String?

    enum CodingKeys: String, CodingKey {
        case secret
        case otpauthURI = "otpauth_uri"
        case qrSVG = "qr_svg"
    }
}

struct RecoveryCodesJSON: ResponseEncodable, Sendable {
    let recoveryCodes: [String]
    enum CodingKeys: String, CodingKey { case recoveryCodes = "recovery_codes" }
}

struct TwoFactorPolicyJSON: ResponseEncodable, Sendable {
    let requiredForAll: Bool
    enum CodingKeys: String, CodingKey { case requiredForAll = "required_for_all" }
}
