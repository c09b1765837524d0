import Foundation
import HTTPTypes
import Hummingbird

/// CORS for the origins in `MOSTRADOR_CORS_ORIGINS` (exact `scheme://host[:port]` matches) and no other: a preflight
/// from an allowed origin is answered 204 with the methods and headers the api takes; other requests from it get
/// `Access-Control-Allow-Origin`. Any other origin gets no CORS header, so browsers keep its pages from reading the
/// api. No credentials are involved: the api's sessions travel in `Authorization`, never in cookies. Installed only
/// when the list is not empty; the panel and the guest page are same-origin and need none of this.
struct CrossOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    static var allowedMethods: String { "GET, POST, PUT, PATCH, DELETE, OPTIONS" }
    static var allowedHeaders: String { "Authorization, Content-Type" }
    /// How long a browser may reuse a preflight answer, in seconds.
    static var maxAge: String { "600" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let origin = request.headers[.origin].flatMap { allowedOrigins.contains($0) ? $0 : nil }
        if let origin, request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin,
                    .accessControlAllowMethods: Self.allowedMethods,
                    .accessControlAllowHeaders: Self.allowedHeaders,
                    .accessControlMaxAge: Self.maxAge,
                    .vary: "Origin",
                ])
        }
        var response = try await respondingToErrors(request, context: context, next: next)
        if let origin { response.headers[.accessControlAllowOrigin] = origin }
        response.headers.append(HTTPField(name: .vary, value: "Origin"))
        return response
    }

    /// The origins of `MOSTRADOR_CORS_ORIGINS` (comma-separated), or why one is not an origin.
    static func parse(_ text: String) throws(OriginListProblem) -> Set<String> {
        var origins: Set<String> = []
        for item in text.split(separator: ",") {
            let origin = item.trimmingCharacters(in: .whitespaces)
            if origin.isEmpty { continue }
            guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host() != nil, url.path().isEmpty, url.query() == nil, url.fragment() == nil, url.user() == nil,
                origin == origin.lowercased()
            else { throw OriginListProblem(origin: origin) }
            origins.insert(origin)
        }
        return origins
    }

    struct OriginListProblem: Error, CustomStringConvertible {
        let origin: String
        var description: String {
            "MOSTRADOR_CORS_ORIGINS: '\(origin)' is not an origin (scheme://host[:port] in lower case, no path, no *)"
        }
    }
}
