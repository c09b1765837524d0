import ArgumentParser
import Foundation
import MostradorServiceKit

extension APISettings {
    /// `MOSTRADOR_TRUSTED_PROXIES`, `MOSTRADOR_TRUSTED_PROXY_HEADER`, `MOSTRADOR_LOGIN_*` and `MOSTRADOR_BCRYPT_*`.
    mutating func readLoginSettings(_ configuration: ServiceConfiguration) throws {
        let header: TrustedProxies.Header
        switch configuration.setting("MOSTRADOR_TRUSTED_PROXY_HEADER")?.lowercased() ?? "x-forwarded-for" {
        case "x-forwarded-for": header = .xForwardedFor
        case "forwarded": header = .forwarded
        case let other:
            throw ValidationError("MOSTRADOR_TRUSTED_PROXY_HEADER must be x-forwarded-for or forwarded, not '\(other)'")
        }
        do {
            trustedProxies = try TrustedProxies(
                parsing: configuration.setting("MOSTRADOR_TRUSTED_PROXIES") ?? "", header: header)
        } catch {
            throw ValidationError("MOSTRADOR_TRUSTED_PROXIES: \(error)")
        }
        loginFailuresPerUser = try configuration.setting("MOSTRADOR_LOGIN_FAILURES_PER_USER", default: 5)
        loginFailuresPerClient = try configuration.setting("MOSTRADOR_LOGIN_FAILURES_PER_IP", default: 20)
        loginWindow = try configuration.number("MOSTRADOR_LOGIN_WINDOW_MINUTES", default: 15, within: 0.1...10080) * 60
        guard loginFailuresPerUser > 0, loginFailuresPerClient > 0 else {
            throw ValidationError("MOSTRADOR_LOGIN_FAILURES_PER_USER and MOSTRADOR_LOGIN_FAILURES_PER_IP must be > 0")
        }
        bcryptThreads = try configuration.setting("MOSTRADOR_BCRYPT_THREADS", default: bcryptThreads)
        guard (1...256).contains(bcryptThreads) else {
            throw ValidationError("MOSTRADOR_BCRYPT_THREADS must be within 1…256")
        }
        if let queue = configuration.setting("MOSTRADOR_BCRYPT_QUEUE") {
            guard let value = Int(queue), value >= 0 else {
                throw ValidationError("MOSTRADOR_BCRYPT_QUEUE: '\(queue)' is not a count >= 0")
            }
            bcryptQueue = value
        }
    }

    /// Hashes that may wait for a bcrypt thread before login answers 429.
    var bcryptQueueLimit: Int { bcryptQueue ?? 2 * bcryptThreads }
}
