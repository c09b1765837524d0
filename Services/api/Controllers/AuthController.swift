import Foundation
import Hummingbird

/// `POST /api/auth/login/` and `POST /api/auth/logout/` as seed 002 shows them.
struct AuthController {
    let agents: AgentStore

    func addRoutes(to router: Router<APIRequestContext>) {
        router.post("api/auth/login", use: login)
        router.post("api/auth/logout", use: logout)
    }

    struct Credentials: Decodable {
        let username: String
        let password: String
    }

    @Sendable func login(_ request: Request, context: APIRequestContext) async throws -> LoginJSON {
        let credentials = try JSONDecoder().decode(
            Credentials.self, from: try await request.collectBody(upTo: 16 << 10))
        guard !credentials.username.isEmpty, !credentials.password.isEmpty, credentials.password.count <= 200 else {
            throw APIError.badRequest("Usuario y contraseña son obligatorios")
        }
        guard
            let (token, agent) = try await agents.login(username: credentials.username, password: credentials.password)
        else {
            context.logger.notice("failed login", metadata: ["username": "\(credentials.username.prefix(64))"])
            throw APIError(status: .unauthorized, detail: "Usuario o contraseña incorrectos")
        }
        return LoginJSON(token: token, agent: agent)
    }

    @Sendable func logout(_ request: Request, context: APIRequestContext) async throws -> ConfirmationJSON {
        guard let token = request.authorizationToken, try await agents.agent(forToken: token) != nil else {
            throw APIError.unauthorized
        }
        try await agents.logout(token: token)
        return ConfirmationJSON(message: "Successfully logged out")
    }

}
