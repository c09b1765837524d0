import ArgumentParser
import MostradorMessaging

extension ServiceConfiguration {
    /// How consumers retry a handler that throws: `MOSTRADOR_HANDLER_MAX_ATTEMPTS` attempts (default 16, about half
    /// an hour of backoff) before the message is dead-lettered.
    public func handlerRetryPolicy() throws -> HandlerRetryPolicy {
        guard let text = setting("MOSTRADOR_HANDLER_MAX_ATTEMPTS") else { return HandlerRetryPolicy() }
        guard let attempts = Int(text), (1...1000).contains(attempts) else {
            throw ValidationError("MOSTRADOR_HANDLER_MAX_ATTEMPTS must be a whole number within 1…1000, not '\(text)'")
        }
        return HandlerRetryPolicy(maxAttempts: attempts)
    }

    /// How often the dead-letter queue's depth is read (`MOSTRADOR_DEAD_LETTER_CHECK_SECONDS`, default 15).
    public func deadLetterCheckInterval() throws -> Duration {
        try seconds("MOSTRADOR_DEAD_LETTER_CHECK_SECONDS", default: 15, within: 0.1...3600)
    }
}
