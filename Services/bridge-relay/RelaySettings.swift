import ArgumentParser
import Foundation
import MostradorServiceKit

/// The relay's own settings, from `MOSTRADOR_*` variables.
struct RelaySettings: Sendable {
    /// Base URL of the seed WhatsApp bridge (`POST {url}/enviar-mensaje`, `GET {url}/health`).
    var bridgeURL = "http://127.0.0.1:8090"
    var bridgeToken = ""
    /// How long one send may take before it counts as a timeout (then retried).
    var timeout: Duration = .seconds(5)
    /// Sends before a message is given up as failed (and dead-lettered).
    var maxAttempts = 8
    /// Messages per second towards the bridge; 0 means no limit.
    var rate = 20.0
    /// How often a bridge known to be down is probed.
    var probeInterval: Duration = .seconds(3)
    /// Concurrent sends (messages of one ticket are always sent one after another, in order).
    var lanes = 16
    /// Days after which finished ledger entries lose their text and recipient (deleted after twice that; 0: never).
    var retentionDays = 90

    init() {}

    init(_ configuration: ServiceConfiguration) throws {
        bridgeURL = configuration.setting("MOSTRADOR_BRIDGE_URL") ?? bridgeURL
        guard let url = URL(string: bridgeURL), ["http", "https"].contains(url.scheme), url.host != nil else {
            throw ValidationError("MOSTRADOR_BRIDGE_URL must be an http(s) URL, not '\(bridgeURL)'")
        }
        while bridgeURL.hasSuffix("/") { bridgeURL.removeLast() }
        bridgeToken = configuration.setting("MOSTRADOR_BRIDGE_TOKEN") ?? ""
        let seconds = try configuration.setting("MOSTRADOR_BRIDGE_TIMEOUT_SECONDS", default: 5.0)
        guard seconds > 0 else { throw ValidationError("MOSTRADOR_BRIDGE_TIMEOUT_SECONDS must be positive") }
        timeout = .milliseconds(Int64(seconds * 1000))
        maxAttempts = try configuration.setting("MOSTRADOR_RELAY_MAX_ATTEMPTS", default: 8)
        guard maxAttempts >= 1 else { throw ValidationError("MOSTRADOR_RELAY_MAX_ATTEMPTS must be at least 1") }
        rate = try configuration.setting("MOSTRADOR_RELAY_RATE", default: 20.0)
        guard rate >= 0 else { throw ValidationError("MOSTRADOR_RELAY_RATE must be 0 (no limit) or positive") }
        let probe = try configuration.setting("MOSTRADOR_BRIDGE_PROBE_SECONDS", default: 3.0)
        probeInterval = .milliseconds(Int64(max(0.1, probe) * 1000))
        lanes = try configuration.setting("MOSTRADOR_RELAY_LANES", default: 16)
        guard (1...1024).contains(lanes) else { throw ValidationError("MOSTRADOR_RELAY_LANES must be within 1…1024") }
        retentionDays = try configuration.setting("MOSTRADOR_RETENTION_DAYS", default: 90)
        guard retentionDays >= 0 else { throw ValidationError("MOSTRADOR_RETENTION_DAYS must be >= 0") }
    }
}
