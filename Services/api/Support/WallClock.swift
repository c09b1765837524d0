import Foundation

/// Where the api reads the time for expiry decisions (agent sessions, guest sessions, upload grants); tests move
/// it by hand instead of sleeping.
struct WallClock: Sendable {
    let now: @Sendable () -> Date

    static let system = WallClock { Date() }
}
