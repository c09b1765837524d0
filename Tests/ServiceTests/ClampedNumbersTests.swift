import MostradorServiceKit
import Testing

/// Double → integer conversions of outside or configured values never trap (review R6).
@Suite struct ClampedNumbersTests {
    @Test(arguments: [
        (Double.infinity, 300_000), (-.infinity, 1000), (.nan, 1000), (1e20, 300_000), (-5, 1000), (2.5, 2500),
        (1e300, 300_000), (-1e300, 1000),
    ])
    func secondsAreClampedIntoTheRange(_ seconds: Double, _ milliseconds: Int) {
        #expect(Duration.clampedSeconds(seconds, in: 1...300) == .milliseconds(milliseconds))
    }

    @Test func saturatingConversionsKeepWithinTheType() {
        #expect(Int64(saturating: .infinity) == .max)
        #expect(Int64(saturating: -.infinity) == .min)
        #expect(Int64(saturating: .nan) == 0)
        #expect(Int64(saturating: 1e20) == .max)
        #expect(Int64(saturating: 9_223_372_036_854_775_807.0) == .max)
        #expect(Int64(saturating: -5.4) == -5)
        #expect(Int(saturating: 2.6) == 3)
    }

    static func configuration(_ environment: [String: String]) throws -> ServiceConfiguration {
        try ServiceOptions.parse([]).resolve(service: "test", defaultPort: 8080, environment: environment)
    }

    @Test(arguments: ["inf", "nan", "1e20", "-5", "-inf", "diez"])
    func hostileSecondsSettingsAreRefusedNamingTheVariable(_ value: String) throws {
        let configuration = try Self.configuration(["MOSTRADOR_X_SECONDS": value])
        #expect {
            _ = try configuration.seconds("MOSTRADOR_X_SECONDS", default: 4, within: 0.1...300)
        } throws: { "\($0)".contains("MOSTRADOR_X_SECONDS") }
    }

    @Test func secondsSettingsAreReadOrDefaulted() throws {
        #expect(
            try Self.configuration([:]).seconds("MOSTRADOR_X_SECONDS", default: 4, within: 0.1...300) == .seconds(4))
        let set = try Self.configuration(["MOSTRADOR_X_SECONDS": "2.5"])
        #expect(try set.seconds("MOSTRADOR_X_SECONDS", default: 4, within: 0.1...300) == .milliseconds(2500))
    }
}
