import MostradorServiceKit

/// The classifier's own settings, from `MOSTRADOR_*` variables, read and checked before anything starts. Numbers
/// must be finite and within bounds (review R6): `inf`, `nan`, `1e20` or `-5` is a configuration error naming the
/// variable, never a trap in a conversion.
struct ClassifierSettings: Sendable {
    /// Below this confidence the label is `unknown` (`MOSTRADOR_CLASSIFIER_THRESHOLD`, 0…1).
    var threshold = 0.65
    /// An OpenAI-compatible endpoint asked first (`MOSTRADOR_LLM_URL`; none: the local model only).
    var llmURL: String?
    var llmModel = "llama3.2"
    var llmAPIKey: String?
    /// How long the LLM may take before the local model answers (`MOSTRADOR_LLM_TIMEOUT_SECONDS`, 0.1…300).
    var llmTimeout: Duration = .seconds(4)

    init() {}

    init(_ configuration: ServiceConfiguration) throws {
        threshold = try configuration.number("MOSTRADOR_CLASSIFIER_THRESHOLD", default: threshold, within: 0...1)
        llmURL = configuration.setting("MOSTRADOR_LLM_URL")
        llmModel = configuration.setting("MOSTRADOR_LLM_MODEL") ?? llmModel
        llmAPIKey = configuration.setting("MOSTRADOR_LLM_API_KEY")
        llmTimeout = try configuration.seconds("MOSTRADOR_LLM_TIMEOUT_SECONDS", default: 4, within: 0.1...300)
    }
}
