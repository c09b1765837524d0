import AMQPClient
import Foundation
import Synchronization

/// A real RabbitMQ for integration tests, managed through `deploy/broker.sh`.
///
/// `TestBroker.shared` is the broker `.ci/run` started (`MOSTRADOR_TEST_BROKER_DIR`); when a developer runs
/// `swift test` alone it starts one of its own on a free port. Tests that stop or kill the broker use
/// `TestBroker.withDedicated { broker in … }` so they do not disturb the others running in parallel.
public actor TestBroker {
    public let directory: String
    public private(set) var url: String

    /// How long a test waits for its first connection to be ready. Far above what an idle machine needs (well
    /// under a second): on a loaded CI machine, with other tests booting brokers of their own, declaring a
    /// topology's quorum queues has taken over 30 s.
    public static let readyTimeout: Duration = .seconds(150)

    private static let script = Shell.repositoryRoot.appendingPathComponent("deploy/broker.sh").path
    private static let sharedBroker = SharedBroker()

    init(directory: String, url: String) {
        self.directory = directory
        self.url = url
    }

    /// The broker shared by all tests of this run.
    public static func shared() async throws -> TestBroker {
        try await sharedBroker.get()
    }

    /// Runs `body` with a broker of its own (about 5 s to start), for tests that stop, kill or restart it; the
    /// broker is stopped and awaited afterwards, also when `body` throws.
    public static func withDedicated<T>(_ body: (TestBroker) async throws -> T) async throws -> T {
        let broker = try await dedicated()
        do {
            let result = try await body(broker)
            try? await broker.stop()
            return result
        } catch {
            try? await broker.stop()
            throw error
        }
    }

    /// A broker of its own; whoever starts it stops it.
    static func dedicated() async throws -> TestBroker {
        let directory = NSTemporaryDirectory() + "mostrador-broker-\(UUID().uuidString.prefix(8))"
        let url = try await Shell.run([script, "start", "--dir", directory, "--port", "auto"])
        return TestBroker(directory: directory, url: url.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A fresh virtual host on this broker: the whole Mostrador topology can be declared there without
    /// touching other tests. Returns its AMQP URL.
    public func freshVirtualHost(_ prefix: String = "test") async throws -> AMQPConfiguration {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try await createVirtualHost(name)
        var configuration = try AMQPConfiguration(url: url)
        configuration.virtualHost = name
        configuration.connectionName = name
        return configuration
    }

    public var configuration: AMQPConfiguration {
        get throws { try AMQPConfiguration(url: url) }
    }

    // MARK: Creating virtual hosts

    /// Virtual hosts asked for while an import runs; they go in the next one.
    private var waiting: [(name: String, created: CheckedContinuation<Void, any Error>)] = []
    private var importing = false

    /// Creates `name` with all permissions for `guest`. Every `rabbitmqctl` call boots an Erlang VM (about a
    /// second of CPU), so the virtual hosts that tests running in parallel ask for at the same time are created
    /// together, in one `import_definitions`, which returns once they exist.
    private func createVirtualHost(_ name: String) async throws {
        try await withCheckedThrowingContinuation { (created: CheckedContinuation<Void, any Error>) in
            waiting.append((name, created))
            if !importing {
                importing = true
                Task { await self.importWaiting() }
            }
        }
    }

    private func importWaiting() async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            do {
                try await importVirtualHosts(batch.map(\.name))
                for item in batch { item.created.resume() }
            } catch {
                for item in batch { item.created.resume(throwing: error) }
            }
        }
        importing = false
    }

    private func importVirtualHosts(_ names: [String]) async throws {
        let definitions: [String: Any] = [
            "vhosts": names.map { ["name": $0] },
            "permissions": names.map {
                ["user": "guest", "vhost": $0, "configure": ".*", "write": ".*", "read": ".*"]
            },
        ]
        let file = NSTemporaryDirectory() + "mostrador-vhosts-\(UUID().uuidString.prefix(8)).json"
        try JSONSerialization.data(withJSONObject: definitions).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await ctl(["import_definitions", file])
    }

    @discardableResult
    public func ctl(_ arguments: [String]) async throws -> String {
        try await Shell.run([Self.script, "ctl", "--dir", directory, "--"] + arguments)
    }

    /// Closes every client connection to `virtualHost` as an operator would (`rabbitmqctl close_connection`).
    /// Returns how many it closed.
    @discardableResult
    public func closeConnections(virtualHost: String) async throws -> Int {
        let listing = try await ctl(["list_connections", "pid", "vhost", "--silent", "--no-table-headers"])
        var closed = 0
        for line in listing.split(separator: "\n") {
            let columns = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
            guard columns.count >= 2, columns[1] == virtualHost else { continue }
            try await ctl(["close_connection", columns[0], "closed by a test"])
            closed += 1
        }
        return closed
    }

    public func stop() async throws {
        try await Shell.run([Self.script, "stop", "--dir", directory])
    }

    /// Starts it again on the same port and data directory (messages in durable queues survive).
    public func start() async throws {
        url = try await Shell.run([Self.script, "start", "--dir", directory])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func kill() async throws {
        try await Shell.run([Self.script, "kill", "--dir", directory])
    }
}

/// Starts the shared broker once per test process, unless `.ci/run` already did.
private actor SharedBroker {
    private var broker: TestBroker?

    func get() async throws -> TestBroker {
        if let broker { return broker }
        let environment = ProcessInfo.processInfo.environment
        let created: TestBroker
        if let directory = environment["MOSTRADOR_TEST_BROKER_DIR"], let url = environment["MOSTRADOR_TEST_AMQP_URL"] {
            created = TestBroker(directory: directory, url: url)
        } else {
            created = try await TestBroker.dedicated()
            stopAtExit(created.directory)
        }
        broker = created
        return created
    }
}

/// Stops a broker this process started when the test process exits.
private func stopAtExit(_ directory: String) {
    BrokerCleanup.directories.withLock { $0.append(directory) }
    atexit {
        for directory in BrokerCleanup.directories.withLock({ $0 }) {
            _ = try? Shell.runBlocking(
                [Shell.repositoryRoot.appendingPathComponent("deploy/broker.sh").path, "stop", "--dir", directory],
                environment: [:]
            )
        }
    }
}

private enum BrokerCleanup {
    static let directories = Mutex<[String]>([])
}
