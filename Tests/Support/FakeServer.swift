import Hummingbird
import Logging
import NIOCore

/// Where the test fakes listen: 127.0.0.1 on a port the kernel gives the server's own socket when it binds. A port
/// picked beforehand (`freePort()`) can be taken by another test's server before this one binds; this fake's
/// readiness probe is then answered by that server and its requests go there (a fresh-clone CI run once saw a
/// Graph stand-in answer 404 that way).
enum FakeServer {
    /// Starts `router` (on `port`, or any free one); returns once it listens, with its port and the task that runs
    /// it (cancel it to stop).
    static func start(_ router: Router<BasicRequestContext>, label: String, port: Int = 0) async throws -> (
        port: Int, task: Task<Void, any Error>
    ) {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in announce.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task {
            defer { announce.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            _ = try? await task.value
            struct NotListening: Error {}
            throw NotListening()
        }
        return (port, task)
    }
}
