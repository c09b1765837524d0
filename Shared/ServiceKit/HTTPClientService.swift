import AsyncHTTPClient
import ServiceLifecycle

/// Shuts an HTTP client down after the consumers that use it have stopped (list it after them).
public struct HTTPClientService: Service {
    let client: HTTPClient

    public init(client: HTTPClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
