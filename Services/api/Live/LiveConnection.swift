import Foundation
import Synchronization

/// One socket: the frames waiting to be written to it, why it must close, if it must (the writer then sends that
/// refusal as an `error` frame and closes with 1008, and the reader ignores whatever else arrives), and its typing
/// throttle.
///
/// At most `capacity` frames wait. A client that reads so slowly that one more frame would not fit is never
/// silently skipped ahead (review R15): the socket is marked behind and takes no more frames, and its writer sends
/// a `resync` frame instead of the frames still waiting and closes; the client reloads the conversation and
/// connects again.
final class LiveConnection: Sendable {
    /// At most one `typing_start` published per connection in this time; `typing_stop` only after a published start.
    static let typingInterval: TimeInterval = 2
    static let defaultCapacity = 5000

    let id: String
    /// What to write to the socket, in order; ends when the socket must close (`finish`, or behind).
    let frames: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let state = Mutex(State())

    private struct State {
        var refusal: LiveRefusal?
        var behind = false
        var lastTypingStart: Date?
        var typing = false
    }

    init(id: String = UUID().uuidString.lowercased(), capacity: Int = LiveConnection.defaultCapacity) {
        self.id = id
        (frames, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// Queues a frame for the socket; when the queue is full, marks the socket behind instead (see above).
    func send(_ frame: String) {
        guard case .dropped = continuation.yield(frame) else { return }
        state.withLock { $0.behind = true }
        continuation.finish()
    }

    /// No more frames: the writer sends what waits and the socket closes.
    func finish() {
        continuation.finish()
    }

    /// The client fell too far behind: it must be told to resync.
    var isBehind: Bool { state.withLock { $0.behind } }

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
