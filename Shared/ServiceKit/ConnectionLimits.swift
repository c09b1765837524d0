import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// What one HTTP listener tolerates from its connections (slowloris, descriptor exhaustion).
public struct ConnectionLimits: Sendable, Equatable {
    /// A connection with no request in flight for this long is closed (`MOSTRADOR_HTTP_IDLE_TIMEOUT_SECONDS`), and
    /// so is one that has not sent a complete request head this long after it opened.
    public var idleTimeout: Duration
    /// Connections open at once (`MOSTRADOR_MAX_CONNECTIONS`); further ones wait in the listen backlog, unaccepted,
    /// until one closes.
    public var maximumConnections: Int

    public init(idleTimeout: Duration = .seconds(30), maximumConnections: Int = 4096) {
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }

    /// The HTTP/1.1 channel configuration with the idle timeout.
    public var http1: HTTP1Channel.Configuration { HTTP1Channel.Configuration(idleTimeout: TimeAmount(idleTimeout)) }

    /// The listener's accept limit.
    public var availableConnections: MaximumAvailableConnections {
        MaximumAvailableConnections(maximumConnections)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `limits`.
    public static func http1(limits: ConnectionLimits) -> HTTPServerBuilder {
        guarded(limits) { responder, http1 in HTTP1Channel(responder: responder, configuration: http1) }
    }

    /// The child channel `build` makes (from the responder and an HTTP/1.1 configuration carrying the idle timeout),
    /// behind a deadline for the first request head. Hummingbird's idle timer only starts once a request head has
    /// been decoded, and a WebSocket-upgradable channel adds it only after the first head, so without the deadline a
    /// client sending a header a byte at a time would hold its connection for ever.
    public static func guarded<Child: ServerChildChannel>(
        _ limits: ConnectionLimits,
        _ build:
            @escaping @Sendable (@escaping HTTPChannelHandler.Responder, HTTP1Channel.Configuration) throws ->
            Child
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            HeadDeadlineChildChannel(base: try build(responder, limits.http1), timeout: limits.idleTimeout)
        }
    }
}

/// `Base`, with a ``RequestHeadDeadlineHandler`` first in each connection's pipeline.
struct HeadDeadlineChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let timeout: Duration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = TimeAmount(timeout)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                RequestHeadDeadlineHandler(timeout: timeout), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection whose first request head (up to the empty line) has not arrived within `timeout` of it
/// opening, then steps out of the pipeline: later requests are Hummingbird's idle timer's business, and an upgraded
/// WebSocket is never closed by it.
final class RequestHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Whether the bytes since the last line feed were only carriage returns (an empty line so far).
    private var atLineStart = false
    private var headComplete = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headComplete {
            for byte in unwrapInboundIn(data).readableBytesView {
                if byte == UInt8(ascii: "\n") {
                    if atLineStart {
                        headComplete = true
                        break
                    }
                    atLineStart = true
                } else if byte != UInt8(ascii: "\r") {
                    atLineStart = false
                }
            }
        }
        context.fireChannelRead(data)
        if headComplete {
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private func startDeadline(_ context: ChannelHandlerContext) {
        guard deadline == nil, !headComplete else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }
}
