import Foundation
import Hummingbird
import NIOCore

/// An error an HTTP client gets back as `{"detail": "…"}` (plus any extra fields) with the right status.
struct APIError: HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    let detail: String
    var extra: [String: JSONValue] = [:]
    var headers: HTTPFields = [:]

    var description: String { "\(status.code) \(detail)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var object = extra
        // Seeds 000/001/004 say `detail`, seed 002 says `error`: both are there, so clients of either work.
        object["detail"] = .string(detail)
        object["error"] = .string(detail)
        var response = try JSONValue.object(object).response(status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    static func badRequest(_ detail: String) -> APIError { APIError(status: .badRequest, detail: detail) }
    static func notFound(_ detail: String) -> APIError { APIError(status: .notFound, detail: detail) }
    static let unauthorized = APIError(
        status: .unauthorized, detail: "Credenciales de autenticación no válidas o ausentes",
        headers: [.wwwAuthenticate: "Token"]
    )
    static func forbidden(_ detail: String) -> APIError { APIError(status: .forbidden, detail: detail) }
    static func tooLarge(_ limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, detail: "El cuerpo de la petición excede el límite de \(limit.byteDescription)")
    }
}

extension Int {
    /// `1 MB`, `16 MB`, `512 KB`.
    var byteDescription: String {
        self >= 1 << 20 ? "\(self >> 20) MB" : "\(self >> 10) KB"
    }
}

/// Turns every error into the JSON error shape: API errors as they are, Hummingbird's own (404 route, 413, …) with
/// their status, anything unexpected as a logged 500 without internals.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let problem as ConversationProblem {
            throw problem.apiError
        } catch let problem as GuestSessions.Problem {
            throw problem.apiError
        } catch let error as HTTPError {
            let detail =
                switch error.status {
                case .notFound: "Recurso no encontrado"
                case .contentTooLarge: "El cuerpo de la petición es demasiado grande"
                case .methodNotAllowed: "Método no permitido"
                default: error.body ?? error.status.reasonPhrase
                }
            throw APIError(status: error.status, detail: detail)
        } catch let error as DecodingError {
            throw APIError.badRequest(error.readableReason)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            throw APIError(status: .internalServerError, detail: "Error interno")
        }
    }
}

extension DecodingError {
    /// A reason a client can act on: which field is missing or of the wrong type.
    var readableReason: String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, _): return "Falta el campo '\(key.stringValue)'"
        case .typeMismatch(_, let context):
            return context.codingPath.isEmpty
                ? "El cuerpo debe ser un objeto JSON" : "El campo '\(path(context))' tiene un tipo incorrecto"
        case .valueNotFound(_, let context): return "El campo '\(path(context))' no puede ser nulo"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "El cuerpo no es JSON válido" : "El campo '\(path(context))' no es válido"
        @unknown default: return "El cuerpo no es válido"
        }
    }
}

extension Optional where Wrapped == String {
    /// The value of a required query parameter: 400 `Falta el parámetro '…'` when missing or empty.
    func required(parameter name: String) throws -> String {
        guard let self, !self.isEmpty else { throw APIError.badRequest("Falta el parámetro '\(name)'") }
        return self
    }

    /// The value of a required body field: 400 `Falta el campo '…'` when missing or empty.
    func required(field name: String) throws -> String {
        guard let self, !self.isEmpty else { throw APIError.badRequest("Falta el campo '\(name)'") }
        return self
    }
}
