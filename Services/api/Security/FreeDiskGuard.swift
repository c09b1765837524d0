import Foundation
import HTTPTypes
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Refuses new files when the disk under the data directory runs low, before SQLite (and a broker sharing the
/// disk) do. The reading is kept for a second, so checking on every upload costs nothing; once space is freed the
/// next check lets files in again.
final class FreeDiskGuard: Sendable {
    /// Free space is below the watermark: 507 with the reason.
    struct Insufficient: Error, Equatable {
        let freeBytes: Int64
    }

    let paths: [String]
    let minimumFreeBytes: Int64
    private let probe: @Sendable (String) -> Int64?
    private let clock: WallClock
    private let reading = Mutex<(free: Int64?, at: Date)?>(nil)
    static let cacheLifetime: TimeInterval = 1

    init(
        paths: [String], minimumFreeBytes: Int64, probe: @escaping @Sendable (String) -> Int64? = statvfsProbe,
        clock: WallClock = .system
    ) {
        self.paths = paths
        self.minimumFreeBytes = minimumFreeBytes
        self.probe = probe
        self.clock = clock
    }

    /// Throws `Insufficient` when any of the paths has less than the watermark free.
    func check() throws {
        guard minimumFreeBytes > 0 else { return }
        if let free = freeBytes(), free < minimumFreeBytes { throw Insufficient(freeBytes: free) }
    }

    /// The smallest free space among the paths (cached for `cacheLifetime`); nil when none can be read.
    func freeBytes() -> Int64? {
        let now = clock.now()
        if let cached = reading.withLock({ $0 }), abs(now.timeIntervalSince(cached.at)) < Self.cacheLifetime {
            return cached.free
        }
        let free = paths.compactMap { Self.existingAncestor($0).flatMap(probe) }.min()
        reading.withLock { $0 = (free, now) }
        return free
    }

    /// Forgets the cached reading (after a write failed for lack of space).
    func invalidate() { reading.withLock { $0 = nil } }

    /// The bytes an unprivileged process may still write at `path`.
    @Sendable static func statvfsProbe(_ path: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    /// `path` or the nearest folder above it that exists (the attachments folder appears with the first file).
    static func existingAncestor(_ path: String) -> String? {
        var url = URL(fileURLWithPath: path)
        while !FileManager.default.fileExists(atPath: url.path) {
            let parent = url.deletingLastPathComponent()
            guard parent.path != url.path else { return nil }
            url = parent
        }
        return url.path
    }
}

extension FreeDiskGuard.Insufficient {
    var apiError: APIError {
        APIError(
            status: .init(code: 507, reasonPhrase: "Insufficient Storage"),
            detail: "No hay espacio suficiente en el servidor para guardar archivos; intenta más tarde",
            extra: ["espacio_libre_mb": .int(freeBytes >> 20)],
            headers: [.retryAfter: "60"])
    }
}
