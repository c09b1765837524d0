import ArgumentParser
import Foundation
import MostradorServiceKit
import MostradorStorage

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
    /// How much a ledger commit must survive (`MOSTRADOR_DB_DURABILITY`): the relay acknowledges the broker right
    /// after it, so by default a commit survives power loss (one fsync per group commit).
    var durability = DatabaseFactory.Durability.full
    /// The gateways messages can go through besides the seed bridge (Cloud API, WAHA, Evolution API).
    var gateways = WhatsAppGateways()

    init() {}

    init(_ configuration: ServiceConfiguration) throws {
        bridgeURL = configuration.setting("MOSTRADOR_BRIDGE_URL") ?? bridgeURL
        guard let url = URL(string: bridgeURL), ["http", "https"].contains(url.scheme), url.host != nil else {
            throw ValidationError("MOSTRADOR_BRIDGE_URL must be an http(s) URL, not '\(bridgeURL)'")
        }
        while bridgeURL.hasSuffix("/") { bridgeURL.removeLast() }
        bridgeToken = configuration.setting("MOSTRADOR_BRIDGE_TOKEN") ?? ""
        let seconds = try configuration.setting("MOSTRADOR_BRIDGE_TIMEOUT_SECONDS", default: 5.0)
        guard seconds.isFinite, (0.001...300).contains(seconds) else {
            throw ValidationError("MOSTRADOR_BRIDGE_TIMEOUT_SECONDS must be within 0.001…300, not \(seconds)")
        }
        timeout = .milliseconds(Int64(seconds * 1000))
        maxAttempts = try configuration.setting("MOSTRADOR_RELAY_MAX_ATTEMPTS", default: 8)
        guard (1...100).contains(maxAttempts) else {
            throw ValidationError("MOSTRADOR_RELAY_MAX_ATTEMPTS must be within 1…100")
        }
        rate = try configuration.setting("MOSTRADOR_RELAY_RATE", default: 20.0)
        guard rate == 0 || (0.001...100_000).contains(rate) else {
            throw ValidationError("MOSTRADOR_RELAY_RATE must be 0 (no limit) or within 0.001…100000, not \(rate)")
        }
        let probe = try configuration.setting("MOSTRADOR_BRIDGE_PROBE_SECONDS", default: 3.0)
        guard probe.isFinite, (0.1...3600).contains(probe) else {
            throw ValidationError("MOSTRADOR_BRIDGE_PROBE_SECONDS must be within 0.1…3600, not \(probe)")
        }
        probeInterval = .milliseconds(Int64(probe * 1000))
        lanes = try configuration.setting("MOSTRADOR_RELAY_LANES", default: 16)
        guard (1...1024).contains(lanes) else { throw ValidationError("MOSTRADOR_RELAY_LANES must be within 1…1024") }
        retentionDays = try configuration.setting("MOSTRADOR_RETENTION_DAYS", default: 90)
        guard (0...36_500).contains(retentionDays) else {
            throw ValidationError("MOSTRADOR_RETENTION_DAYS must be within 0…36500")
        }
        switch configuration.setting("MOSTRADOR_DB_DURABILITY")?.lowercased() ?? "full" {
        case "full": durability = .full
        case "normal": durability = .normal
        case let other: throw ValidationError("MOSTRADOR_DB_DURABILITY must be full or normal, not '\(other)'")
        }
        gateways = try WhatsAppGateways(configuration)
        if gateways.cloud != nil, gateways.cloud?.phoneNumberID == nil {
            throw ValidationError("MOSTRADOR_CLOUD_PHONE_NUMBER_ID is required to send through the Cloud API")
        }
    }
}
