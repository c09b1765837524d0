import Foundation
import GRDB
import Logging
import ServiceLifecycle

extension DeliveryLedger {
    /// What one retention sweep changed.
    struct RetentionReport: Sendable, Equatable {
        /// Finished entries (sent, failed) whose text and recipient were blanked.
        var blanked = 0
        /// Entries deleted altogether.
        var deleted = 0
    }

    /// Personal data is kept only as long as it is needed (`MOSTRADOR_RETENTION_DAYS`, review R14): a finished
    /// entry (sent or failed) older than `days` keeps its ids, status and attempts — enough to recognise a late
    /// redelivery — but loses its text and recipient; after twice that it is deleted. Parked and in-flight entries
    /// are never touched: they are still to be sent. `days` 0 keeps everything.
    func applyRetention(days: Int, now: Date) async throws -> RetentionReport {
        guard days > 0 else { return RetentionReport() }
        let blankBefore = now.addingTimeInterval(-Double(days) * 86_400)
        let deleteBefore = now.addingTimeInterval(-Double(days) * 2 * 86_400)
        return try await committer.write { db in
            var report = RetentionReport()
            try db.execute(
                sql: "DELETE FROM deliveries WHERE status IN ('sent', 'failed') AND reported = 1 AND updated_at < ?",
                arguments: [deleteBefore])
            report.deleted = db.changesCount
            try db.execute(
                sql: """
                    UPDATE deliveries SET text = '', recipient = '', attachment_name = NULL, reply_to = NULL,
                                          attachment = NULL
                    WHERE status IN ('sent', 'failed') AND updated_at < ? AND (text != '' OR recipient != '')
                    """,
                arguments: [blankBefore])
            report.blanked = db.changesCount
            return report
        }
    }
}

/// Applies the ledger's retention at start and then every `interval` until graceful shutdown.
struct LedgerRetentionWorker: Service {
    let ledger: DeliveryLedger
    let days: Int
    var now: @Sendable () -> Date = { Date() }
    var interval: Duration = .seconds(3600)
    let logger: Logger

    func run() async throws {
        guard days > 0 else { return }
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let report = try await ledger.applyRetention(days: days, now: now())
                    if report != DeliveryLedger.RetentionReport() {
                        logger.info(
                            "ledger retention",
                            metadata: ["blanked": "\(report.blanked)", "deleted": "\(report.deleted)"])
                    }
                } catch {
                    logger.error("ledger retention failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
