import CRabbitMQ
import DequeModule
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Everything that touches rabbitmq-c, confined to the connection's own thread (rabbitmq-c is not thread-safe and
/// every call blocks). One loop iteration: take commands, (re)connect if needed, send acks and publishes within
/// the confirm window, read the frames that arrived, then sleep in `poll` on the socket and the wake eventfd.
final class ConnectionLoop {
    private struct InFlight {
        let sequence: UInt64
        let request: PublishRequest
    }

    private let engine: AMQPEngine
    private var configuration: AMQPConfiguration { engine.configuration }
    private var logger: Logger { engine.logger }
    private var metrics: AMQPMetrics { engine.metrics }

    private var connection: amqp_connection_state_t?
    private var generation: UInt64 = 0
    private var reconnectAttempt = 0
    private var heartbeat = 0
    private var lastReceive = ContinuousClock.now
    private var lastSend = ContinuousClock.now
    private var shutdownDeadline: ContinuousClock.Instant?

    /// Publishing happens on channel 1 (in confirm mode); each consumer gets a channel of its own from 2 up.
    private static let publishChannel: amqp_channel_t = 1
    private var pending = Deque<PublishRequest>()
    private var unconfirmed = Deque<InFlight>()
    private var nextSequence: UInt64 = 1
    /// Message ids the broker returned as unroutable; the confirm that follows fails them.
    private var returned: [String: (code: UInt16, text: String)] = [:]

    private var consumers: [Int: ConsumerRecord] = [:]
    private var subscriptions: [Int: (channel: amqp_channel_t, tag: String)] = [:]
    private var consumerByTag: [String: Int] = [:]
    private var nextChannel: amqp_channel_t = 2
    private var settlements: [(AckToken, Settlement)] = []
    /// Delivery tags handed out per channel, in delivery order; a tag settled on its own stays until it reaches
    /// the front (it is then skipped), which keeps every step O(1).
    private var outstanding: [amqp_channel_t: Deque<UInt64>] = [:]
    /// Per channel: delivery tags are numbered per channel, so one channel's must never affect another's.
    private var settledAlone: [amqp_channel_t: Set<UInt64>] = [:]
    private var cancellations: [Int] = []

    init(engine: AMQPEngine) {
        self.engine = engine
    }

    func run() {
        while true {
            let (commands, shutdownRequested) = engine.takeInbox()
            accept(commands)
            if shutdownRequested, shutdownDeadline == nil { beginShutdown() }
            if connection == nil { settleOffline() }
            if let deadline = shutdownDeadline, settlements.isEmpty, cancellations.isEmpty,
                (pending.isEmpty && unconfirmed.isEmpty) || ContinuousClock.now >= deadline
            {
                break
            }
            guard let connection else {
                connectOrWait()
                continue
            }
            do {
                let didWork = try step(connection)
                if !didWork { try idle(connection) }
            } catch {
                connectionLost(error)
            }
        }
        finish()
    }

    // MARK: Commands

    private func accept(_ commands: [AMQPEngine.Command]) {
        for command in commands {
            switch command {
            case .publish(var request):
                if request.message.properties.messageID == nil {
                    request.message.properties.messageID = UUID().uuidString
                }
                pending.append(request)
            case .settle(let token, let settlement):
                settlements.append((token, settlement))
            case .subscribe(let record):
                if shutdownDeadline != nil {
                    record.continuation.finish()
                } else {
                    consumers[record.id] = record
                }
            case .cancel(let id):
                cancellations.append(id)
            }
        }
    }

    /// Without a connection, acks are moot (the broker requeued those deliveries) and cancels need no round trip.
    private func settleOffline() {
        settlements.removeAll()
        for id in cancellations {
            subscriptions[id] = nil
            consumers.removeValue(forKey: id)?.continuation.finish()
        }
        cancellations.removeAll()
    }

    private func beginShutdown() {
        shutdownDeadline = .now + configuration.drainTimeout
        cancellations.append(contentsOf: consumers.keys)
        logger.debug(
            "AMQP connection draining",
            metadata: ["pending": "\(pending.count)", "unconfirmed": "\(unconfirmed.count)"]
        )
    }

    // MARK: Connecting

    private func connectOrWait() {
        engine.setState(reconnectAttempt == 0 ? .connecting : engine.state)
        do {
            try connect()
            if generation > 1 { metrics.reconnects.increment() }
            reconnectAttempt = 0
            engine.setState(.ready)
            logger.info(
                "AMQP connection ready",
                metadata: ["url": "\(configuration.redactedURL)", "generation": "\(generation)"]
            )
        } catch {
            reconnectAttempt += 1
            let delay = backoff(attempt: reconnectAttempt)
            engine.setState(.reconnecting(attempt: reconnectAttempt, reason: "\(error)"))
            logger.warning(
                "AMQP connection failed, retrying",
                metadata: ["error": "\(error)", "attempt": "\(reconnectAttempt)", "retry_in": "\(delay)"]
            )
            var until = ContinuousClock.now + delay
            if let shutdownDeadline { until = min(until, shutdownDeadline) }
            waitForWake(until: until)
        }
    }

    /// Exponential backoff with full jitter between the configured bounds.
    private func backoff(attempt: Int) -> Duration {
        let bounds = configuration.reconnectBackoff
        let exponent = min(attempt - 1, 20)
        let ceiling = min(bounds.upperBound, bounds.lowerBound * (1 << exponent))
        let milliseconds = Int64.random(
            in: bounds.lowerBound.milliseconds...max(bounds.lowerBound.milliseconds, ceiling.milliseconds))
        return .milliseconds(milliseconds)
    }

    private func connect() throws(AMQPError) {
        generation += 1
        guard let state = amqp_new_connection() else { throw .library(-1, during: "amqp_new_connection") }
        var opened = false
        defer { if !opened { amqp_destroy_connection(state) } }
        guard let socket = amqp_tcp_socket_new(state) else { throw .library(-1, during: "amqp_tcp_socket_new") }
        var timeout = mostrador_timeval(Int(configuration.connectTimeout.milliseconds * 1000))
        let status = amqp_socket_open_noblock(socket, configuration.host, Int32(configuration.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "connect") }

        let login = CArena.with { arena in
            var properties = arena.table(["connection_name": .string(configuration.connectionName)])
            return mostrador_amqp_login_plain(
                state, configuration.virtualHost, 0, 131_072, Int32(configuration.heartbeat), &properties,
                configuration.user, configuration.password
            )
        }
        try check(login, during: "login")
        heartbeat = Int(amqp_get_heartbeat(state))

        amqp_channel_open(state, Self.publishChannel)
        try check(amqp_get_rpc_reply(state), during: "channel.open")
        try declare(engine.topology, on: state)
        amqp_confirm_select(state, Self.publishChannel)
        try check(amqp_get_rpc_reply(state), during: "confirm.select")
        nextSequence = 1

        nextChannel = Self.publishChannel + 1
        subscriptions = [:]
        consumerByTag = [:]
        for record in consumers.values.sorted(by: { $0.id < $1.id }) {
            try subscribe(record, on: state)
        }
        connection = state
        opened = true
        lastReceive = .now
        lastSend = .now
    }

    private func declare(_ topology: AMQPTopology, on state: amqp_connection_state_t) throws(AMQPError) {
        let channel = Self.publishChannel
        for exchange in topology.exchanges where !exchange.name.isEmpty && !exchange.name.hasPrefix("amq.") {
            CArena.with { arena in
                _ = amqp_exchange_declare(
                    state, channel, arena.bytes(exchange.name), arena.bytes(exchange.kind.rawValue), 0,
                    exchange.durable ? 1 : 0, exchange.autoDelete ? 1 : 0, 0, arena.table(exchange.arguments)
                )
            }
            try check(amqp_get_rpc_reply(state), during: "exchange.declare \(exchange.name)")
        }
        for queue in topology.queues {
            CArena.with { arena in
                _ = amqp_queue_declare(
                    state, channel, arena.bytes(queue.name), 0, queue.durable ? 1 : 0, queue.exclusive ? 1 : 0,
                    queue.autoDelete ? 1 : 0, arena.table(queue.arguments)
                )
            }
            try check(amqp_get_rpc_reply(state), during: "queue.declare \(queue.name)")
        }
        for binding in topology.bindings {
            CArena.with { arena in
                _ = amqp_queue_bind(
                    state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                    arena.bytes(binding.routingKey), arena.table(binding.arguments)
                )
            }
            try check(amqp_get_rpc_reply(state), during: "queue.bind \(binding.queue) to \(binding.exchange)")
        }
    }

    private func subscribe(_ record: ConsumerRecord, on state: amqp_connection_state_t) throws(AMQPError) {
        let channel = nextChannel
        nextChannel += 1
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), during: "channel.open for \(record.queue)")
        amqp_basic_qos(state, channel, 0, record.prefetch, 0)
        try check(amqp_get_rpc_reply(state), during: "basic.qos")
        let tag = "\(configuration.connectionName)-\(record.id)-\(generation)"
        CArena.with { arena in
            _ = amqp_basic_consume(
                state, channel, arena.bytes(record.queue), arena.bytes(tag), 0, 0, 0, amqp_table_t()
            )
        }
        try check(amqp_get_rpc_reply(state), during: "basic.consume \(record.queue)")
        subscriptions[record.id] = (channel, tag)
        consumerByTag[tag] = record.id
    }

    private func check(_ reply: amqp_rpc_reply_t, during: String) throws(AMQPError) {
        var reply = reply
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw .library(reply.library_error, during: during)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == MOSTRADOR_CONNECTION_CLOSE {
                let close = mostrador_reply_connection_close(&reply).pointee
                throw .brokerClosed(code: close.reply_code, text: CDecode.string(close.reply_text), during: during)
            }
            if reply.reply.id == MOSTRADOR_CHANNEL_CLOSE {
                let close = mostrador_reply_channel_close(&reply).pointee
                throw .brokerClosed(code: close.reply_code, text: CDecode.string(close.reply_text), during: during)
            }
            throw .brokerClosed(code: 0, text: "unexpected method \(reply.reply.id)", during: during)
        default:
            throw .library(-1, during: during)
        }
    }

    // MARK: Working

    /// Sends what is due and reads what arrived; false when there was nothing to do.
    private func step(_ state: amqp_connection_state_t) throws(AMQPError) -> Bool {
        var didWork = false
        if !settlements.isEmpty {
            try sendSettlements(state)
            didWork = true
        }
        if !cancellations.isEmpty {
            try sendCancellations(state)
            didWork = true
        }
        for record in consumers.values where subscriptions[record.id] == nil {
            try subscribe(record, on: state)
            didWork = true
        }
        if try sendPublishes(state) { didWork = true }
        if try readFrames(state) { didWork = true }
        return didWork
    }

    /// Acks that complete an in-order run of a channel's deliveries go out as one `multiple` ack; the rest,
    /// and every nack and reject, go out one by one.
    private func sendSettlements(_ state: amqp_connection_state_t) throws(AMQPError) {
        defer { settlements.removeAll(keepingCapacity: true) }
        var acked: [amqp_channel_t: Set<UInt64>] = [:]
        for (token, settlement) in settlements {
            // The broker requeued everything unacknowledged when the old connection died.
            guard token.generation == generation else { continue }
            let status: Int32
            switch settlement {
            case .ack:
                acked[token.channel, default: []].insert(token.deliveryTag)
                metrics.acked.increment()
                continue
            case .requeue:
                status = amqp_basic_nack(state, token.channel, token.deliveryTag, 0, 1)
                metrics.requeued.increment()
            case .deadLetter:
                status = amqp_basic_reject(state, token.channel, token.deliveryTag, 0)
                metrics.deadLettered.increment()
            }
            settledAlone[token.channel, default: []].insert(token.deliveryTag)
            guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "settling a delivery") }
            lastSend = .now
        }
        for (channel, var tags) in acked {
            var last: UInt64?
            while let first = outstanding[channel]?.first {
                if settledAlone[channel]?.remove(first) != nil {
                    outstanding[channel]?.removeFirst()
                } else if tags.remove(first) != nil {
                    outstanding[channel]?.removeFirst()
                    last = first
                } else {
                    break
                }
            }
            if let last {
                let status = amqp_basic_ack(state, channel, last, 1)
                guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "acking deliveries") }
            }
            for tag in tags {
                settledAlone[channel, default: []].insert(tag)
                let status = amqp_basic_ack(state, channel, tag, 0)
                guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "acking a delivery") }
            }
            lastSend = .now
        }
    }

    private func sendCancellations(_ state: amqp_connection_state_t) throws(AMQPError) {
        let ids = cancellations
        cancellations.removeAll()
        for id in ids {
            guard let record = consumers.removeValue(forKey: id) else { continue }
            if let subscription = subscriptions.removeValue(forKey: id) {
                CArena.with { arena in _ = amqp_basic_cancel(state, subscription.channel, arena.bytes(subscription.tag))
                }
                try check(amqp_get_rpc_reply(state), during: "basic.cancel")
            }
            record.continuation.finish()
        }
    }

    private func sendPublishes(_ state: amqp_connection_state_t) throws(AMQPError) -> Bool {
        var sent = false
        // One arena for the whole burst: its memory is only read during each call.
        let arena = CArena()
        defer { withExtendedLifetime(arena) {} }
        while unconfirmed.count < configuration.confirmWindow, let request = pending.popFirst() {
            let message = request.message
            let status = {
                var properties = arena.properties(message.properties)
                return message.body.withUnsafeBytes { body in
                    amqp_basic_publish(
                        state, Self.publishChannel, arena.bytes(message.exchange), arena.bytes(message.routingKey),
                        message.mandatory ? 1 : 0, 0, &properties,
                        amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress))
                    )
                }
            }()
            guard status == AMQP_STATUS_OK.rawValue else {
                pending.prepend(request)
                throw .library(status, during: "basic.publish")
            }
            unconfirmed.append(InFlight(sequence: nextSequence, request: request))
            nextSequence += 1
            metrics.published.increment()
            sent = true
        }
        if sent { lastSend = .now }
        return sent
    }

    /// Reads every complete frame already received, without blocking.
    private func readFrames(_ state: amqp_connection_state_t) throws(AMQPError) -> Bool {
        var handled = 0
        defer { amqp_maybe_release_buffers(state) }
        while handled < 1024 {
            var frame = amqp_frame_t()
            var immediately = mostrador_timeval(0)
            let status = amqp_simple_wait_frame_noblock(state, &frame, &immediately)
            if status == AMQP_STATUS_TIMEOUT.rawValue { break }
            guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "reading frames") }
            lastReceive = .now
            try handle(frame, state)
            handled += 1
        }
        return handled > 0
    }

    private func handle(_ frame: amqp_frame_t, _ state: amqp_connection_state_t) throws(AMQPError) {
        guard frame.frame_type == MOSTRADOR_FRAME_METHOD else { return }
        var method = frame.payload.method
        switch method.id {
        case MOSTRADOR_BASIC_ACK:
            let ack = mostrador_method_basic_ack(&method).pointee
            confirm(ack.delivery_tag, multiple: ack.multiple != 0, acknowledged: true)
        case MOSTRADOR_BASIC_NACK:
            let nack = mostrador_method_basic_nack(&method).pointee
            confirm(nack.delivery_tag, multiple: nack.multiple != 0, acknowledged: false)
        case MOSTRADOR_BASIC_DELIVER:
            try deliver(mostrador_method_basic_deliver(&method).pointee, channel: frame.channel, state)
        case MOSTRADOR_BASIC_RETURN:
            let basicReturn = mostrador_method_basic_return(&method).pointee
            let code = basicReturn.reply_code
            let text = CDecode.string(basicReturn.reply_text)
            var message = amqp_message_t()
            try check(amqp_read_message(state, frame.channel, &message, 0), during: "reading a returned message")
            let properties = CDecode.properties(message.properties)
            amqp_destroy_message(&message)
            if let id = properties.messageID { returned[id] = (code, text) }
        case MOSTRADOR_CHANNEL_CLOSE:
            let close = mostrador_method_channel_close(&method).pointee
            let text = CDecode.string(close.reply_text)
            _ = mostrador_send_channel_close_ok(state, frame.channel)
            // The broker handles publishes in order: the first unconfirmed one is the one it refused
            // (e.g. 404 for a missing exchange). Fail it so that reconnecting does not refuse it forever.
            if frame.channel == Self.publishChannel, (400..<500).contains(close.reply_code),
                let culprit = unconfirmed.popFirst()
            {
                culprit.request.completion(
                    .failure(.brokerClosed(code: close.reply_code, text: text, during: "basic.publish"))
                )
            }
            throw .brokerClosed(code: close.reply_code, text: text, during: "channel \(frame.channel)")
        case MOSTRADOR_CONNECTION_CLOSE:
            let close = mostrador_method_connection_close(&method).pointee
            _ = mostrador_send_connection_close_ok(state)
            throw .brokerClosed(code: close.reply_code, text: CDecode.string(close.reply_text), during: "connection")
        case MOSTRADOR_BASIC_CANCEL:
            // The broker cancelled a consumer (its queue was deleted): reconnecting redeclares and resubscribes.
            throw .brokerClosed(code: 0, text: "consumer cancelled by the broker", during: "basic.cancel")
        case MOSTRADOR_CONNECTION_BLOCKED:
            logger.warning("AMQP connection blocked by the broker (resource alarm)")
        case MOSTRADOR_CONNECTION_UNBLOCKED:
            logger.info("AMQP connection unblocked")
        default:
            logger.debug("AMQP frame ignored", metadata: ["method": "\(method.id)"])
        }
    }

    private func confirm(_ tag: UInt64, multiple: Bool, acknowledged: Bool) {
        var done: [PublishRequest] = []
        if multiple {
            while let first = unconfirmed.first, first.sequence <= tag {
                done.append(unconfirmed.removeFirst().request)
            }
        } else if let index = unconfirmed.firstIndex(where: { $0.sequence == tag }) {
            done.append(unconfirmed.remove(at: index).request)
        }
        for request in done {
            if let id = request.message.properties.messageID, let reason = returned.removeValue(forKey: id) {
                metrics.returned.increment()
                request.completion(.failure(.returned(code: reason.code, text: reason.text)))
            } else if acknowledged {
                metrics.confirmed.increment()
                request.completion(.success(()))
            } else {
                metrics.nacked.increment()
                request.completion(.failure(.nacked))
            }
        }
    }

    private func deliver(_ deliver: amqp_basic_deliver_t, channel: amqp_channel_t, _ state: amqp_connection_state_t)
        throws(AMQPError)
    {
        // Copy the method's fields before reading the content: both live in the channel's pool.
        let tag = CDecode.string(deliver.consumer_tag)
        let deliveryTag = deliver.delivery_tag
        let redelivered = deliver.redelivered != 0
        let exchange = CDecode.string(deliver.exchange)
        let routingKey = CDecode.string(deliver.routing_key)
        var message = amqp_message_t()
        try check(amqp_read_message(state, channel, &message, 0), during: "reading a delivery")
        let body = CDecode.array(message.body)
        let properties = CDecode.properties(message.properties)
        amqp_destroy_message(&message)

        metrics.delivered.increment()
        if redelivered { metrics.redelivered.increment() }
        let token = AckToken(generation: generation, channel: channel, deliveryTag: deliveryTag)
        outstanding[channel, default: []].append(deliveryTag)
        guard let id = consumerByTag[tag], let record = consumers[id] else {
            // Arrived after a cancel: give it back for another consumer.
            settlements.append((token, .requeue))
            return
        }
        let delivery = AMQPDelivery(
            body: body, properties: properties, exchange: exchange, routingKey: routingKey,
            redelivered: redelivered, deliveryTag: deliveryTag, queue: record.queue, token: token, engine: engine
        )
        if case .terminated = record.continuation.yield(delivery) {
            settlements.append((token, .requeue))
        }
    }

    // MARK: Waiting

    /// Nothing to do: keep the heartbeat going and sleep until the socket or the inbox has something.
    private func idle(_ state: amqp_connection_state_t) throws(AMQPError) {
        let now = ContinuousClock.now
        var timeout = Duration.seconds(1)
        if heartbeat > 0 {
            let interval = Duration.seconds(heartbeat)
            if now - lastReceive > interval * 2 {
                throw .library(AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue, during: "waiting for the broker")
            }
            if now - lastSend >= interval / 2 {
                let status = mostrador_send_heartbeat(state)
                guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "sending a heartbeat") }
                lastSend = now
            }
            timeout = min(timeout, interval / 2)
        }
        if let shutdownDeadline { timeout = min(timeout, max(.zero, shutdownDeadline - now)) }
        // Frames already buffered by rabbitmq-c are not visible to poll.
        if amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 { return }
        guard engine.prepareToSleep() else { return }
        var descriptors = [
            pollfd(fd: amqp_get_sockfd(state), events: Int16(POLLIN), revents: 0),
            pollfd(fd: engine.wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        _ = poll(&descriptors, 2, Int32(timeout.milliseconds))
        if descriptors[0].revents != 0 { lastReceive = .now }
        if descriptors[1].revents != 0 { engine.drainWake() }
    }

    private func waitForWake(until deadline: ContinuousClock.Instant) {
        guard engine.prepareToSleep() else { return }
        let milliseconds = max(0, (deadline - .now).milliseconds)
        var descriptor = pollfd(fd: engine.wakeFD, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, Int32(milliseconds)) > 0 { engine.drainWake() }
    }

    // MARK: Failure and shutdown

    private func connectionLost(_ error: AMQPError) {
        logger.warning("AMQP connection lost", metadata: ["error": "\(error)", "unconfirmed": "\(unconfirmed.count)"])
        if let connection { amqp_destroy_connection(connection) }
        connection = nil
        // Everything not confirmed goes out again, in its original order, on the next connection.
        for inFlight in unconfirmed.reversed() { pending.prepend(inFlight.request) }
        unconfirmed.removeAll()
        returned.removeAll()
        settlements.removeAll()
        outstanding.removeAll()
        settledAlone.removeAll()
        reconnectAttempt = max(reconnectAttempt, 1)
        engine.setState(.reconnecting(attempt: reconnectAttempt, reason: "\(error)"))
    }

    private func finish() {
        if let connection {
            // Consumers were cancelled in beginShutdown; acks they sent since have been flushed by step().
            _ = amqp_connection_close(connection, MOSTRADOR_REPLY_SUCCESS)
            amqp_destroy_connection(connection)
            self.connection = nil
        }
        for record in consumers.values { record.continuation.finish() }
        consumers.removeAll()
        let abandoned = unconfirmed.map(\.request) + pending
        unconfirmed.removeAll()
        pending.removeAll()
        if !abandoned.isEmpty {
            logger.error("AMQP connection closed with unconfirmed messages", metadata: ["count": "\(abandoned.count)"])
        }
        for request in abandoned { request.completion(.failure(.shutdown)) }
        engine.setState(.closed)
        logger.info("AMQP connection closed")
    }
}
