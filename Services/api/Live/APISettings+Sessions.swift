import ArgumentParser
import MostradorServiceKit

extension APISettings {
    /// WebSocket caps, how long a closed chat's room token lives, and how often sessions are purged and sockets swept.
    mutating func readSessionSettings(_ configuration: ServiceConfiguration) throws {
        func count(_ name: String, _ value: Int) throws -> Int {
            let parsed = try configuration.setting(name, default: value)
            guard parsed > 0 else { throw ValidationError("\(name) must be at least 1") }
            return parsed
        }
        func interval(_ name: String, _ value: Double, unit: Double) throws -> Double {
            let parsed = try configuration.setting(name, default: value)
            guard parsed.isFinite, parsed > 0, parsed * unit <= 366 * 86400 else {
                throw ValidationError("\(name) must be above 0 and at most a year")
            }
            return parsed * unit
        }
        webSocketsPerToken = try count("MOSTRADOR_WS_PER_TOKEN", webSocketsPerToken)
        webSocketsPerAddress = try count("MOSTRADOR_WS_PER_IP", webSocketsPerAddress)
        roomTokenLifetimeAfterClose = try interval("MOSTRADOR_ROOM_TOKEN_DAYS_AFTER_CLOSE", 7, unit: 86400)
        let purge = try interval("MOSTRADOR_SESSION_PURGE_MINUTES", 10, unit: 60)
        sessionPurgeInterval = .clampedSeconds(purge, in: 0.001...(366 * 86400))
        let sweep = try interval("MOSTRADOR_SESSION_SWEEP_SECONDS", 30, unit: 1)
        sessionSweepInterval = .clampedSeconds(sweep, in: 0.001...(366 * 86400))
    }
}
