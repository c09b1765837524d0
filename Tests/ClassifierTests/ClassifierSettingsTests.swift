import MostradorServiceKit
import Testing

@testable import MostradorClassifier

/// The classifier's numbers are checked before it starts (review R6): hostile values are refused, never a trap.
@Suite struct ClassifierSettingsTests {
    static func settings(_ environment: [String: String]) throws -> ClassifierSettings {
        try ClassifierSettings(
            ServiceOptions.parse([]).resolve(service: "classifier", defaultPort: 8083, environment: environment))
    }

    @Test func defaults() throws {
        let settings = try Self.settings([:])
        #expect(settings.threshold == 0.65)
        #expect(settings.llmTimeout == .seconds(4))
        #expect(settings.llmURL == nil)
    }

    @Test(
        arguments: ["MOSTRADOR_LLM_TIMEOUT_SECONDS", "MOSTRADOR_CLASSIFIER_THRESHOLD"], ["inf", "nan", "1e20", "-5"])
    func hostileValuesAreRefusedNamingTheVariable(_ variable: String, _ value: String) {
        #expect {
            _ = try Self.settings([variable: value, "MOSTRADOR_LLM_URL": "http://127.0.0.1:9"])
        } throws: { "\($0)".contains(variable) }
    }
}
