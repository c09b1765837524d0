import HTTPTypes
import Hummingbird
import MostradorTracing

extension HTTPField.Name {
    /// W3C Trace Context: the caller's trace (request) and ours (outbound calls).
    public static let traceparent = HTTPField.Name(TraceContext.header)!
    /// W3C Trace Context Level 2: the trace a response belongs to, so a caller can find its log lines.
    public static let traceresponse = HTTPField.Name("traceresponse")!
}

/// Runs each request as a span of a trace: the one its `traceparent` header names (as the remote parent) when that
/// parses, a new one otherwise. Everything the request does then carries it: its log lines (`trace_id`), the outbox
/// rows it writes and the messages they become. The response names the span in `traceresponse`. The span records the
/// method, the path with its ids and tokens blanked (`route`) and the status.
public struct TraceMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let trace = request.headers[.traceparent].flatMap { TraceContext(traceparent: $0)?.child() } ?? .start()
        // Built only when spans are exported: without an exporter a request pays for its trace ids alone.
        var span =
            SpanRecorder.shared.isEnabled
            ? Span(
                request.method.rawValue, kind: .server, context: trace,
                attributes: ["http.request.method": request.method.rawValue]) : nil
        return try await TraceContext.$current.withValue(trace) {
            do {
                var response = try await next(request, context)
                response.headers[.traceresponse] = trace.traceparent
                span?.finish(status: response.status.code, route: Self.route(request.uri.path))
                return response
            } catch {
                span?.finish(
                    status: (error as? any HTTPResponseError)?.status.code ?? 500, route: Self.route(request.uri.path))
                throw error
            }
        }
    }
}

extension TraceMiddleware {
    /// The path with every segment that holds a digit (ids, tokens, room keys) replaced by `{id}`: span names stay
    /// few, and no secret a path may carry leaves the process.
    static func route(_ path: String) -> String {
        path.prefix(256).split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.contains(where: \.isNumber) ? "{id}" : String($0) }
            .joined(separator: "/")
    }
}

extension Span {
    /// Ends a server span with its route and status (5xx is a failure; a 4xx is the caller's).
    fileprivate mutating func finish(status: Int, route: String) {
        name = "\(name) \(route)"
        attributes["http.route"] = route
        attributes["http.response.status_code"] = String(status)
        failed = status >= 500
        end()
    }
}
