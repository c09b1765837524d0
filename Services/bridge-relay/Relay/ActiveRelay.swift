import Foundation
import Logging
import Metrics
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// One relay sends at a time for a ledger; the others stand by. Several relay processes started on one data folder
/// share one ledger (parked messages, lines, what was sent), and the process holding an exclusive lock on
/// `relay-ledger.sqlite.active` runs `services` (the `relay.send` consumer, the bridge monitor, the ledger's
/// retention); the others wait for the lock. The kernel drops the lock the instant its holder dies (SIGKILL
/// included), and a standby takes over within `poll`: it resends the parked messages it finds in the shared ledger
/// once the bridge answers, in each customer's order, and never resends what the ledger says went out.
///
/// Why active/standby and not several relays sending side by side: a customer's messages must leave in order, and
/// one relay already sends thousands of messages a second while a WhatsApp number takes tens (Cloud API: 80/s), so
/// a second sender adds risk, not throughput. What a second relay adds is availability.
struct ActiveRelay: Service {
    let lockPath: String
    let services: [any Service]
    var poll: Duration = .milliseconds(200)
    let logger: Logger

    /// 1 while this process is the relay that sends, 0 while it stands by.
    private static let active = Gauge(label: "mostrador_relay_active")

    init(dataDirectory: String, services: [any Service], logger: Logger) {
        lockPath = "\(dataDirectory)/relay-ledger.sqlite.active"
        self.services = services
        self.logger = logger
    }

    func run() async throws {
        let descriptor = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        // Closing the descriptor (here, or by the kernel when the process dies) releases the lock.
        defer { close(descriptor) }
        Self.active.record(0)
        var announced = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if !announced {
                logger.notice(
                    "standing by: another relay is sending from this ledger", metadata: ["lock": "\(lockPath)"])
                announced = true
            }
            try await Task.sleep(for: poll)
            if Task.isShuttingDownGracefully { return }
        }
        logger.notice("active: this relay sends from the ledger", metadata: ["lock": "\(lockPath)"])
        Self.active.record(1)
        defer { Self.active.record(0) }
        // Child tasks inherit the graceful shutdown of this service: each one drains as it would on its own.
        try await withThrowingDiscardingTaskGroup { group in
            for service in services {
                group.addTask { try await service.run() }
            }
        }
    }
}
