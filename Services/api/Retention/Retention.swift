import Foundation
import Logging
import MostradorSQL
import MostradorStorage
import ServiceLifecycle

/// What the api keeps only for a while (`MOSTRADOR_RETENTION_DAYS`, review R14): consumers' processed-message ids
/// and read notifications older than the retention are deleted. Files on disk that no attachment row points to
/// (refused or abandoned uploads) and half-written temporary files are garbage whatever the retention: removed once
/// they are older than a day (orphans; a new upload writes its file before its row) or an hour (temporary files).
struct Retention: Sendable {
    let committer: SQLCommitter
    let attachmentsRoot: String
    /// Days of processed ids and read notifications; 0 keeps them forever.
    let days: Int
    var orphanAge: TimeInterval = 24 * 3600
    var temporaryAge: TimeInterval = 3600

    /// What one sweep removed.
    struct Report: Sendable, Equatable {
        var processedMessages = 0
        var notifications = 0
        var orphanedFiles = 0
        var temporaryFiles = 0
        /// Channel statuses that never found their message (sent by something else on the same number).
        var channelStatuses = 0
    }

    /// How long a channel status waits for its message's `sent` report (normally milliseconds).
    var unmatchedStatusAge: TimeInterval = 7 * 86_400

    func sweep(now: Date) async throws -> Report {
        var report = Report()
        if days > 0 {
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            (report.processedMessages, report.notifications) = try await committer.write { db in
                (
                    try ProcessedMessages.delete(olderThan: cutoff, db: db),
                    try NotificationStore.deleteRead(olderThan: cutoff, db: db)
                )
            }
        }
        let statusCutoff = now.addingTimeInterval(-unmatchedStatusAge)
        report.channelStatuses = try await committer.write { db in
            try db.execute(sql: "DELETE FROM channel_statuses WHERE received_at < ?", arguments: [statusCutoff])
            return db.changesCount
        }
        (report.orphanedFiles, report.temporaryFiles) = try await sweepFiles(now: now)
        return report
    }

    /// Files under `attachments/ab/cd/`: `<sha256>` without a row (older than `orphanAge`) and `.<sha256>.<uuid>`
    /// temporary files (older than `temporaryAge`).
    func sweepFiles(now: Date) async throws -> (orphans: Int, temporaries: Int) {
        let files = FileManager.default
        guard let enumerator = files.enumerator(atPath: attachmentsRoot) else { return (0, 0) }
        var candidates: [(path: String, digest: String)] = []
        var temporaries = 0
        while let relative = enumerator.nextObject() as? String {
            let components = relative.split(separator: "/")
            guard components.count == 3, let name = components.last else { continue }
            let path = attachmentsRoot + "/" + relative
            guard let attributes = try? files.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular,
                let modified = attributes[.modificationDate] as? Date
            else { continue }
            let age = now.timeIntervalSince(modified)
            if name.hasPrefix(".") {
                if age > temporaryAge, (try? files.removeItem(atPath: path)) != nil { temporaries += 1 }
            } else if name.count == 64, name.allSatisfy(\.isHexDigit), age > orphanAge {
                candidates.append((path, String(name)))
            }
        }
        var orphans = 0
        for batch in stride(from: 0, to: candidates.count, by: 500) {
            let slice = Array(candidates[batch..<min(batch + 500, candidates.count)])
            let used = try await committer.writer.read { db in
                try Set(
                    String.fetchAll(
                        db,
                        sql:
                            "SELECT sha256 FROM attachments WHERE sha256 IN (\(slice.map { _ in "?" }.joined(separator: ",")))",
                        arguments: StatementArguments(slice.map(\.digest))))
            }
            for candidate in slice where !used.contains(candidate.digest) {
                if (try? files.removeItem(atPath: candidate.path)) != nil { orphans += 1 }
            }
        }
        return (orphans, temporaries)
    }
}

/// Runs `Retention` at start and then every `interval` until graceful shutdown.
struct RetentionWorker: Service {
    let retention: Retention
    let clock: WallClock
    var interval: Duration = .seconds(3600)
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let report = try await retention.sweep(now: clock.now())
                    if report != Retention.Report() {
                        logger.info(
                            "retention sweep",
                            metadata: [
                                "processed_messages": "\(report.processedMessages)",
                                "notifications": "\(report.notifications)",
                                "orphaned_files": "\(report.orphanedFiles)",
                                "temporary_files": "\(report.temporaryFiles)",
                                "channel_statuses": "\(report.channelStatuses)",
                            ])
                    }
                } catch {
                    logger.error("retention sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
