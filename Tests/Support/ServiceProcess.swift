import Foundation
import Synchronization

/// One of the built executables, run as its own process as an operator would run it.
public final class ServiceProcess: @unchecked Sendable {
    public let name: String
    public let port: Int
    /// The operations port (`MOSTRADOR_OPS_PORT`): readiness with its reasons, `/metrics`.
    public let opsPort: Int
    private let process = Process()
    private let logFile: URL

    /// Starts `.build/<config>/<name>` with `environment` added to this process's, listening on a free port, with
    /// its operations port on another.
    /// `port`: the HTTP port to give it (default: a free one).
    public init(_ name: String, environment: [String: String], arguments: [String] = [], port: Int? = nil) throws {
        self.name = name
        self.port = try port ?? freePort()
        var ops = try freePort()
        while ops == self.port { ops = try freePort() }
        opsPort = ops
        logFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "\(name)-\(self.port)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = Self.binaryDirectory.appendingPathComponent(name)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            .merging(["MOSTRADOR_HTTP_PORT": String(self.port), "MOSTRADOR_OPS_PORT": String(opsPort)]) { _, new in new
            }
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        ChildProcesses.register(process.processIdentifier)
    }

    /// Where the executables are: next to the test bundle, or `MOSTRADOR_BIN_DIR`.
    public static var binaryDirectory: URL {
        if let directory = ProcessInfo.processInfo.environment["MOSTRADOR_BIN_DIR"] {
            return URL(fileURLWithPath: directory)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// `http://127.0.0.1:<ops port>`: `/health/live`, `/health/ready` with `problems`, `/metrics`.
    public var opsURL: String { "http://127.0.0.1:\(opsPort)" }
    public var isRunning: Bool { process.isRunning }
    public var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its status (nil on timeout).
    public func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return process.terminationStatus
    }

    public func terminate() async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        signal(SIGTERM)
        return await waitForExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Every service a test started, killed when the test process exits: a test that ends before its clean-up task
/// runs must not leave an api or a relay behind.
enum ChildProcesses {
    private static let pids = Mutex<Set<Int32>>([])
    private static let installed = Mutex(false)

    static func register(_ pid: Int32) {
        pids.withLock { _ = $0.insert(pid) }
        let first = installed.withLock { installed in
            defer { installed = true }
            return !installed
        }
        if first {
            atexit {
                for pid in ChildProcesses.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
            }
        }
    }
}

/// A TCP port nobody listens on right now.
public func freePort() throws -> Int {
    let reservation = try PortReservation()
    defer { reservation.release() }
    return reservation.port
}

/// A local TCP port held (bound, not listening) until `release()`: connections to it are refused, and no other
/// process or test is given it meanwhile — a receiver that is down and comes back on its own port.
public final class PortReservation: Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let (descriptor, port) = try Self.bindAnyPort()
        self.descriptor = descriptor
        self.port = port
    }

    public func release() { close(descriptor) }

    private static func bindAnyPort() throws -> (Int32, Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        do {
            return (descriptor, try bound(descriptor))
        } catch {
            close(descriptor)
            throw error
        }
    }
}

private func bound(_ descriptor: Int32) throws -> Int {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
