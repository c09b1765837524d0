import AsyncHTTPClient
import Foundation
import Hummingbird
import MostradorMessaging
import MostradorServiceKit
import NIOPosix
import ServiceLifecycle

/// Wires the classifier: model (loaded or trained at start) → broker connection → consumer → HTTP.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let logger = configuration.logger
    let settings = try ClassifierSettings(configuration)
    let started = ContinuousClock.now
    var loaded = try ModelLoader.load(path: configuration.setting("MOSTRADOR_CLASSIFIER_MODEL"))
    loaded.threshold = settings.threshold
    let local = loaded
    logger.info("model ready", metadata: ["version": "\(local.version)", "took": "\(ContinuousClock.now - started)"])
    let connections = ServiceApplication.connections(configuration)
    var workers: [any Service] = []
    let classify: @Sendable (String) async -> Classification
    if let url = settings.llmURL {
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let llm = LLMClassifier(
            chat: ChatCompletions(
                client: client, url: url, model: settings.llmModel, apiKey: settings.llmAPIKey,
                timeout: settings.llmTimeout),
            fallback: local, logger: logger)
        workers.append(HTTPClientShutdown(client: client))
        classify = { await llm.classify($0) }
        logger.info(
            "asking the LLM first", metadata: ["endpoint": "\(llm.chat.endpoint)", "model": "\(llm.chat.model)"])
    } else {
        classify = { local.classify($0) }
    }
    let labeler = TicketLabeler(classify: classify, connection: connections.publisher, logger: logger)
    workers.append(
        MessageConsumer(
            connection: connections.consumer, publisher: connections.publisher,
            queue: MostradorTopology.classifierTickets.name, prefetch: 100,
            router: labeler.router, retryPolicy: try configuration.handlerRetryPolicy(), logger: logger))
    return ServiceApplication.make(
        configuration: configuration, connections: connections, workers: workers, router: Router())
}

/// Shuts the LLM's HTTP client down after the consumer has stopped.
struct HTTPClientShutdown: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
