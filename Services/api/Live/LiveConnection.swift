import Foundation
import Synchronization

/// One socket's state besides its frames: why it must close, if it must (the writer then sends that refusal as an
/// `error` frame and closes with 1008, and the reader ignores whatever else arrives), and its typing throttle.
final class LiveConnection: Sendable {
    /// At most one `typing_start` published per connection in this time; `typing_stop` only after a published start.
    static let typingInterval: TimeInterval = 2

    let id: String
    private let state = Mutex(State())

    private struct State {
        var refusal: LiveRefusal?
        var lastTypingStart: Date?
        var typing = false
    }

    init(id: String = UUID().uuidString.lowercased()) {
        self.id = id
    }

    /// Why the socket is closing (the first reason given wins).
    var refusal: LiveRefusal? { state.withLock { $0.refusal } }

    func close(_ refusal: LiveRefusal) {
        state.withLock { state in
            if state.refusal == nil { state.refusal = refusal }
        }
    }

    /// Whether a typing frame goes out to the room: a start once per `typingInterval`, a stop only to end a start
    /// that went out. Everything else (a client sending one per keystroke) is dropped here, before the broker.
    func admitsTyping(start: Bool, at now: Date) -> Bool {
        state.withLock { state in
            if start {
                if let last = state.lastTypingStart, now.timeIntervalSince(last) < Self.typingInterval, last <= now {
                    return false
                }
                state.lastTypingStart = now
                state.typing = true
                return true
            }
            guard state.typing else { return false }
            state.typing = false
            return true
        }
    }
}
