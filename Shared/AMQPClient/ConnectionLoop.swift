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
    /// The node connected to, or tried next: one of `configuration.endpoints`, from a random one so that the clients
    /// of a cluster spread over its nodes, moving on to the next after a failed attempt or a lost connection.
    private var endpointIndex = 0
    private var endpoint: AMQPEndpoint { configuration.endpoints[endpointIndex % configuration.endpoints.count] }
    private var generation: UInt64 = 0
    private var reconnectAttempt = 0
    private var heartbeat = 0
    private var lastReceive = ContinuousClock.now
    private var lastSend = ContinuousClock.now
    private var shutdownDeadline: ContinuousClock.Instant?
    /// Set when the process began a graceful shutdown: publishes not confirmed by then fail with `.shutdown`.
    private var drainDeadline: ContinuousClock.Instant?
    /// The broker sent `connection.blocked` (memory or disk alarm): publishes wait in `pending` until
    /// `connection.unblocked`, while reads, heartbeats and acks go on (the broker stops reading a blocked
    /// connection's socket only once it publishes).
    private var blocked = false

    /// TCP keepalive: probe after 30 s of silence, every 10 s, give up after 3 unanswered probes.
    private static let keepalive: (idle: Int32, interval: Int32, count: Int32) = (30, 10, 3)

    /// Publishing happens on channel 1 (in confirm mode); each consumer gets a channel of its own from 2 up.
    private static let publishChannel: amqp_channel_t = 1
    private var pending = Deque<PublishRequest>()
    private var unconfirmed = Deque<InFlight>()
    private var nextSequence: UInt64 = 1
    /// After the broker closed the publish channel over one of several unconfirmed messages, this many messages at
    /// the front (the unconfirmed ones, republished in order) go out one at a time, each waiting for its confirm,
    /// until the one the broker refuses again is found; then pipelining resumes. Confirms lag behind publishes
    /// (quorum queues), so the first unconfirmed message is not necessarily the culprit.
    private var suspects = 0
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
    /// Channels whose `outstanding` list passed `outstandingLimit` (a delivery held unsettled while thousands after
    /// it were settled): their bookkeeping is dropped and their acks go out one by one, so memory stays bounded.
    private var individualAcks: Set<amqp_channel_t> = []
    private static let outstandingLimit = 4096
    private var cancellations: [Int] = []

    /// Queries wait here while there is no connection, until their deadline.
    private var queries = Deque<QueryRequest>()
    /// Queries get a channel of their own (opened on first use), so that a 404 on a passive declare closes neither
    /// the publish channel nor a consumer's. A closed query channel's number is not reused on this connection: the
    /// broker requeued the messages taken there, and settling them must not reach another channel.
    private var queryChannel: amqp_channel_t?
    private var closedChannels: Set<amqp_channel_t> = []

    init(engine: AMQPEngine) {
        self.engine = engine
        endpointIndex = Int.random(in: 0..<max(engine.configuration.endpoints.count, 1))
    }

    func run() {
        while true {
            let (commands, drainRequested, shutdownRequested) = engine.takeInbox()
            if drainRequested, drainDeadline == nil { drainDeadline = .now + configuration.drainTimeout }
            accept(commands)
            if shutdownRequested, shutdownDeadline == nil { beginShutdown() }
            expireQueries()
            abandonPublishesPastTheDrainDeadline()
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
                try keepAlive(connection)
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
            case .query(let query):
                if shutdownDeadline != nil {
                    query.completion(.failure(.shutdown))
                } else {
                    queries.append(query)
                }
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
        shutdownDeadline = min(.now + configuration.drainTimeout, drainDeadline ?? .now + configuration.drainTimeout)
        cancellations.append(contentsOf: consumers.keys)
        failQueries(.shutdown)
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
                metadata: ["url": "\(configuration.redactedURL(endpoint))", "generation": "\(generation)"]
            )
        } catch {
            reconnectAttempt += 1
            let failed = endpoint
            endpointIndex += 1
            // Every node is tried at each backoff level: with three nodes, attempts 1–3 wait the least.
            let nodes = configuration.endpoints.count
            let delay = backoff(attempt: (reconnectAttempt - 1) / nodes + 1)
            engine.setState(.reconnecting(attempt: reconnectAttempt, reason: "\(error)"))
            logger.warning(
                "AMQP connection failed, retrying",
                metadata: [
                    "error": "\(error)", "node": "\(failed)", "attempt": "\(reconnectAttempt)", "retry_in": "\(delay)",
                ]
            )
            var until = ContinuousClock.now + delay
            if let shutdownDeadline { until = min(until, shutdownDeadline) }
            if let earliest = queries.map(\.deadline).min() { until = min(until, earliest) }
            if let drainDeadline, !pending.isEmpty { until = min(until, max(drainDeadline, .now)) }
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
        // Every synchronous round trip (login, declares, queries, cancels) gives up after `operationTimeout`.
        var operationTimeout = mostrador_timeval(Int(configuration.operationTimeout.milliseconds * 1000))
        amqp_set_handshake_timeout(state, &operationTimeout)
        amqp_set_rpc_timeout(state, &operationTimeout)
        var timeout = mostrador_timeval(Int(configuration.connectTimeout.milliseconds * 1000))
        let status = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "connect") }
        let tuned = mostrador_socket_tune(
            amqp_socket_get_sockfd(socket), Int32(configuration.operationTimeout.milliseconds),
            Self.keepalive.idle, Self.keepalive.interval, Self.keepalive.count)
        if tuned != 0 { logger.warning("AMQP socket options refused", metadata: ["errno": "\(tuned)"]) }

        let login = CArena.with { arena in
            // `connection.blocked` is only sent to clients that announce they understand it.
            var properties = arena.table([
                "connection_name": .string(configuration.connectionName),
                "capabilities": .table(["connection.blocked": true]),
            ])
            return mostrador_amqp_login_plain(
                state, configuration.virtualHost, 0, 131_072, Int32(configuration.heartbeat), &properties,
                configuration.user, configuration.password
            )
        }
        try check(login, during: "login")
        heartbeat = Int(amqp_get_heartbeat(state))
        setBlocked(false)

        amqp_channel_open(state, Self.publishChannel)
        try check(amqp_get_rpc_reply(state), during: "channel.open")
        try declare(engine.topology, on: state)
        amqp_confirm_select(state, Self.publishChannel)
        try check(amqp_get_rpc_reply(state), during: "confirm.select")
        nextSequence = 1

        nextChannel = Self.publishChannel + 1
        queryChannel = nil
        closedChannels = []
        individualAcks = []
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

    /// The content (header and body frames) that follows a method carrying a message, copied out of the pool.
    private func readContent(_ state: amqp_connection_state_t, channel: amqp_channel_t, during: String)
        throws(AMQPError) -> (body: [UInt8], properties: AMQPProperties)
    {
        var message = amqp_message_t()
        try check(amqp_read_message(state, channel, &message, 0), during: during)
        defer { amqp_destroy_message(&message) }
        return (CDecode.array(message.body), CDecode.properties(message.properties))
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
            publishBookkeeping()
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
        if !queries.isEmpty {
            try runQueries(state)
            didWork = true
        }
        // Frames first: a `connection.blocked` that arrived during the declares must stop the next burst.
        if try readFrames(state) { didWork = true }
        if try sendPublishes(state) { didWork = true }
        return didWork
    }

    /// Acks that complete an in-order run of a channel's deliveries go out as one `multiple` ack; the rest,
    /// and every nack and reject, go out one by one.
    private func sendSettlements(_ state: amqp_connection_state_t) throws(AMQPError) {
        defer { settlements.removeAll(keepingCapacity: true) }
        var acked: [amqp_channel_t: Set<UInt64>] = [:]
        for (token, settlement) in settlements {
            // The broker requeued everything unacknowledged when the old connection (or channel) died.
            guard token.generation == generation, !closedChannels.contains(token.channel) else { continue }
            let status: Int32
            switch settlement {
            case .ack where individualAcks.contains(token.channel):
                status = amqp_basic_ack(state, token.channel, token.deliveryTag, 0)
                metrics.acked.increment()
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
            if !individualAcks.contains(token.channel) {
                settledAlone[token.channel, default: []].insert(token.deliveryTag)
            }
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

    /// Remembers a delivery for `multiple` acks, within `outstandingLimit` per channel.
    private func track(_ deliveryTag: UInt64, on channel: amqp_channel_t) {
        guard !individualAcks.contains(channel) else { return }
        outstanding[channel, default: []].append(deliveryTag)
        guard outstanding[channel, default: []].count > Self.outstandingLimit else { return }
        individualAcks.insert(channel)
        outstanding[channel] = nil
        settledAlone[channel] = nil
        logger.warning(
            "AMQP delivery left unsettled behind \(Self.outstandingLimit) others: acking one by one on its channel",
            metadata: ["channel": "\(channel)"])
    }

    /// How many delivery tags the ack bookkeeping holds, for `AMQPConnection.trackedDeliveryTags`.
    private func publishBookkeeping() {
        let count = outstanding.values.reduce(0) { $0 + $1.count } + settledAlone.values.reduce(0) { $0 + $1.count }
        engine.trackedTagsBox.withLock { $0 = count }
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

    // MARK: Queries

    private func runQueries(_ state: amqp_connection_state_t) throws(AMQPError) {
        while let query = queries.popFirst() {
            do {
                let channel = try openQueryChannel(state)
                let result =
                    switch query.operation {
                    case .depth(let queue): try declarePassive(queue, channel: channel, state)
                    case .get(let queue): try basicGet(queue, channel: channel, state)
                    case .binding(let binding, let bound): try bind(binding, bound: bound, channel: channel, state)
                    }
                query.completion(result)
            } catch {
                query.completion(.failure(error))
                throw error
            }
        }
    }

    private func openQueryChannel(_ state: amqp_connection_state_t) throws(AMQPError) -> amqp_channel_t {
        if let queryChannel { return queryChannel }
        guard nextChannel < amqp_channel_t.max else {
            throw .library(AMQP_STATUS_NO_MEMORY.rawValue, during: "opening a channel (none left)")
        }
        let channel = nextChannel
        nextChannel += 1
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), during: "channel.open for queries")
        queryChannel = channel
        return channel
    }

    /// The broker's refusal when it answered by closing the query channel (e.g. 404 for a missing queue), nil for a
    /// normal reply; throws for anything that concerns the whole connection.
    private func refusal(
        _ reply: amqp_rpc_reply_t, channel: amqp_channel_t, _ state: amqp_connection_state_t, during: String
    ) throws(AMQPError) -> AMQPError? {
        var reply = reply
        guard reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION, reply.reply.id == MOSTRADOR_CHANNEL_CLOSE else {
            try check(reply, during: during)
            return nil
        }
        let close = mostrador_reply_channel_close(&reply).pointee
        let error = AMQPError.brokerClosed(
            code: close.reply_code, text: CDecode.string(close.reply_text), during: during)
        let status = mostrador_send_channel_close_ok(state, channel)
        guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "channel.close-ok") }
        queryChannel = nil
        closedChannels.insert(channel)
        outstanding[channel] = nil
        settledAlone[channel] = nil
        return error
    }

    private func declarePassive(_ queue: String, channel: amqp_channel_t, _ state: amqp_connection_state_t)
        throws(AMQPError) -> Result<QueryRequest.Answer, AMQPError>
    {
        let during = "queue.declare \(queue) (passive)"
        let ok = CArena.with { arena in
            amqp_queue_declare(state, channel, arena.bytes(queue), 1, 0, 0, 0, amqp_table_t())
        }
        if let refused = try refusal(amqp_get_rpc_reply(state), channel: channel, state, during: during) {
            return .failure(refused)
        }
        guard let ok else { throw .library(-1, during: during) }
        return .success(.depth(messages: ok.pointee.message_count, consumers: ok.pointee.consumer_count))
    }

    private func bind(
        _ binding: AMQPTopology.Binding, bound: Bool, channel: amqp_channel_t, _ state: amqp_connection_state_t
    ) throws(AMQPError) -> Result<QueryRequest.Answer, AMQPError> {
        let during = "\(bound ? "queue.bind" : "queue.unbind") \(binding.queue) to \(binding.exchange)"
        CArena.with { arena in
            if bound {
                _ = amqp_queue_bind(
                    state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                    arena.bytes(binding.routingKey), arena.table(binding.arguments))
            } else {
                _ = amqp_queue_unbind(
                    state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                    arena.bytes(binding.routingKey), arena.table(binding.arguments))
            }
        }
        if let refused = try refusal(amqp_get_rpc_reply(state), channel: channel, state, during: during) {
            return .failure(refused)
        }
        return .success(.done)
    }

    private func basicGet(_ queue: String, channel: amqp_channel_t, _ state: amqp_connection_state_t)
        throws(AMQPError) -> Result<QueryRequest.Answer, AMQPError>
    {
        var reply = CArena.with { arena in amqp_basic_get(state, channel, arena.bytes(queue), 0) }
        if let refused = try refusal(reply, channel: channel, state, during: "basic.get \(queue)") {
            return .failure(refused)
        }
        guard reply.reply.id == MOSTRADOR_BASIC_GET_OK else { return .success(.message(nil)) }
        // Copy the method's fields before reading the content: both live in the channel's pool.
        let ok = mostrador_reply_basic_get_ok(&reply).pointee
        let deliveryTag = ok.delivery_tag
        let redelivered = ok.redelivered != 0
        let exchange = CDecode.string(ok.exchange)
        let routingKey = CDecode.string(ok.routing_key)
        let (body, properties) = try readContent(state, channel: channel, during: "reading a message from basic.get")
        lastReceive = .now
        track(deliveryTag, on: channel)
        let delivery = AMQPDelivery(
            body: body, properties: properties, exchange: exchange, routingKey: routingKey,
            redelivered: redelivered, deliveryTag: deliveryTag, queue: queue,
            token: AckToken(generation: generation, channel: channel, deliveryTag: deliveryTag), engine: engine
        )
        return .success(.message(delivery))
    }

    private func expireQueries() {
        let now = ContinuousClock.now
        guard queries.contains(where: { now >= $0.deadline }) else { return }
        let reason = "no answer from the broker (\(engine.state))"
        let waiting = queries
        queries.removeAll()
        for query in waiting {
            if now >= query.deadline {
                query.completion(.failure(.timeout(reason)))
            } else {
                queries.append(query)
            }
        }
    }

    private func failQueries(_ error: AMQPError) {
        let failed = queries
        queries.removeAll()
        for query in failed { query.completion(.failure(error)) }
    }

    private func sendPublishes(_ state: amqp_connection_state_t) throws(AMQPError) -> Bool {
        guard !blocked else { return false }
        var sent = false
        // One arena for the whole burst: its memory is only read during each call.
        let arena = CArena()
        defer { withExtendedLifetime(arena) {} }
        let window = suspects > 0 ? 1 : configuration.confirmWindow
        while unconfirmed.count < window, let request = pending.popFirst() {
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
            let (_, properties) = try readContent(state, channel: frame.channel, during: "reading a returned message")
            if let id = properties.messageID { returned[id] = (code, text) }
        case MOSTRADOR_CHANNEL_CLOSE:
            let close = mostrador_method_channel_close(&method).pointee
            let text = CDecode.string(close.reply_text)
            _ = mostrador_send_channel_close_ok(state, frame.channel)
            if frame.channel == Self.publishChannel, (400..<500).contains(close.reply_code) {
                refused(code: close.reply_code, text: text)
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
            logger.warning(
                "AMQP connection blocked by the broker (resource alarm): publishing paused",
                metadata: ["pending": "\(pending.count)", "unconfirmed": "\(unconfirmed.count)"])
            setBlocked(true)
        case MOSTRADOR_CONNECTION_UNBLOCKED:
            logger.info("AMQP connection unblocked: publishing resumes", metadata: ["pending": "\(pending.count)"])
            setBlocked(false)
        default:
            logger.debug("AMQP frame ignored", metadata: ["method": "\(method.id)"])
        }
    }

    /// The broker closed the publish channel over a message it refuses (e.g. 404 for a missing exchange). Only a
    /// message alone in flight is surely the culprit: fail it, so that reconnecting does not refuse it forever;
    /// otherwise every unconfirmed message becomes a suspect, republished one at a time after reconnecting.
    private func refused(code: UInt16, text: String) {
        if unconfirmed.count == 1, let culprit = unconfirmed.popFirst() {
            suspects = 0
            logger.warning(
                "AMQP publish refused by the broker",
                metadata: ["code": "\(code)", "reason": "\(text)", "exchange": "\(culprit.request.message.exchange)"])
            culprit.request.completion(.failure(.brokerClosed(code: code, text: text, during: "basic.publish")))
        } else {
            suspects = unconfirmed.count
        }
    }

    private func setBlocked(_ value: Bool) {
        blocked = value
        engine.blockedBox.withLock { $0 = value }
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
        suspects = max(0, suspects - done.count)
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
        let (body, properties) = try readContent(state, channel: channel, during: "reading a delivery")

        metrics.delivered.increment()
        if redelivered { metrics.redelivered.increment() }
        let token = AckToken(generation: generation, channel: channel, deliveryTag: deliveryTag)
        track(deliveryTag, on: channel)
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

    /// Every iteration, busy or not: send a heartbeat when due, and give up on a broker that went silent.
    private func keepAlive(_ state: amqp_connection_state_t) throws(AMQPError) {
        guard heartbeat > 0 else { return }
        let now = ContinuousClock.now
        let interval = Duration.seconds(heartbeat)
        if now - lastReceive > interval * 2 {
            throw .library(AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue, during: "waiting for the broker")
        }
        if now - lastSend >= interval / 2 {
            let status = mostrador_send_heartbeat(state)
            guard status == AMQP_STATUS_OK.rawValue else { throw .library(status, during: "sending a heartbeat") }
            lastSend = now
        }
    }

    /// Nothing to do: sleep until the socket or the inbox has something, or a heartbeat or deadline is due.
    private func idle(_ state: amqp_connection_state_t) throws(AMQPError) {
        let now = ContinuousClock.now
        var timeout = Duration.seconds(1)
        if heartbeat > 0 { timeout = min(timeout, .seconds(heartbeat) / 2) }
        if let shutdownDeadline { timeout = min(timeout, max(.zero, shutdownDeadline - now)) }
        if let drainDeadline, !(pending.isEmpty && unconfirmed.isEmpty) {
            timeout = min(timeout, max(.zero, drainDeadline - now))
        }
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
        logger.warning(
            "AMQP connection lost",
            metadata: ["error": "\(error)", "node": "\(endpoint)", "unconfirmed": "\(unconfirmed.count)"])
        if let connection { amqp_destroy_connection(connection) }
        connection = nil
        // The node may be gone: the next attempt goes to the next one (the same one when there is only one).
        endpointIndex += 1
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

    /// After the drain deadline nobody waits on a publish any more: its caller keeps the message (an outbox row, an
    /// unacknowledged delivery) for the next start.
    private func abandonPublishesPastTheDrainDeadline() {
        guard let drainDeadline, ContinuousClock.now >= drainDeadline, !(pending.isEmpty && unconfirmed.isEmpty)
        else { return }
        let abandoned = unconfirmed.map(\.request) + pending
        unconfirmed.removeAll()
        pending.removeAll()
        returned.removeAll()
        suspects = 0
        logger.warning("AMQP publishes abandoned at the drain deadline", metadata: ["count": "\(abandoned.count)"])
        for request in abandoned { request.completion(.failure(.shutdown)) }
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
        failQueries(.shutdown)
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
