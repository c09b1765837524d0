import Foundation
import HTTPTypes
import Hummingbird

/// When the api sends `Strict-Transport-Security` (`MOSTRADOR_HSTS`).
enum HSTSPolicy: String, Sendable {
    /// Never.
    case off
    /// On every response: the api is only reached through HTTPS.
    case on
    /// When the request says it came over HTTPS (`X-Forwarded-Proto: https` from the TLS proxy). A client that
    /// forges the header over plain HTTP gains nothing: browsers ignore the header on insecure connections.
    case auto
}

/// The browser's second line of defence, on every response of the api (pages, static files, JSON, errors, 404s):
/// a content security policy that allows only the api's own scripts, styles and connections (plus Google's
/// reCAPTCHA when it is configured), no framing, no sniffing, no referrer, and HSTS as `HSTSPolicy` says.
/// A response that set its own policy (an attachment's sandbox) keeps it.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let contentSecurityPolicy: String
    let hsts: HSTSPolicy

    static var strictTransportSecurity: String { "max-age=31536000" }
    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }
    static var frameOptions: HTTPField.Name { HTTPField.Name("X-Frame-Options")! }
    static var forwardedProto: HTTPField.Name { HTTPField.Name("X-Forwarded-Proto")! }

    init(settings: APISettings) {
        contentSecurityPolicy = Self.contentSecurityPolicy(
            recaptcha: settings.recaptchaSecret != nil && settings.recaptchaSiteKey != nil,
            scriptOrigin: URL(string: settings.recaptchaScriptURL).flatMap(Self.origin))
        hsts = settings.hsts
    }

    /// The panel and the guest page are native modules from `/` with no inline script or style; pictures are shown
    /// as `blob:` URLs (fetched with the session), the favicon is `data:`, the WebSocket is same-origin (`'self'`
    /// covers `ws:`/`wss:` to the page's host). reCAPTCHA needs Google's script and frame.
    static func contentSecurityPolicy(recaptcha: Bool, scriptOrigin: String? = nil) -> String {
        var google = recaptcha ? " https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/" : ""
        // A widget script served from elsewhere (a stand-in, a recaptcha.net mirror) is allowed by its origin.
        if recaptcha, let scriptOrigin, !google.contains(scriptOrigin + "/") { google += " " + scriptOrigin }
        let frames =
            recaptcha ? "frame-src https://www.google.com/recaptcha/ https://recaptcha.google.com/recaptcha/" : nil
        return [
            "default-src 'self'", "script-src 'self'\(google)", "style-src 'self'", "img-src 'self' data: blob:",
            "connect-src 'self'", frames, "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'",
            "form-action 'self'",
        ].compactMap { $0 }.joined(separator: "; ")
    }

    /// `scheme://host[:port]` of `url`.
    static func origin(_ url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await respondingToErrors(request, context: context, next: next)
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.frameOptions] = "DENY"
        response.headers[Self.referrerPolicy] = "no-referrer"
        if hsts == .on || (hsts == .auto && request.headers[Self.forwardedProto]?.lowercased() == "https") {
            response.headers[.strictTransportSecurity] = Self.strictTransportSecurity
        }
        return response
    }
}

/// `next`'s response, or the response of the `HTTPResponseError` it threw (errors reach the client as responses
/// Hummingbird builds outside the middleware chain, so a middleware that adds headers renders them itself).
func respondingToErrors<Context: RequestContext>(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
) async throws -> Response {
    do {
        return try await next(request, context)
    } catch let error as any HTTPResponseError {
        return try error.response(from: request, context: context)
    }
}
