import ArgumentParser
import CRabbitMQ
import Foundation

/// The same work on rabbitmq-c directly, one thread, confirms waited for in windows: the baseline the wrapper is
/// compared with.
struct RawAMQPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amqp-raw", abstract: "rabbitmq-c baseline: windowed confirms, per-message acks."
    )

    @Option var port: Int32 = Int32(ProcessInfo.processInfo.environment["MOSTRADOR_BROKER_PORT"] ?? "5679") ?? 5679
    @Option var count = 100_000
    @Option var size = 256
    @Option var window = 1_000
    @Option var prefetch: UInt16 = 1_000

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func run() throws {
        let state = amqp_new_connection()!
        defer { amqp_destroy_connection(state) }
        let socket = amqp_tcp_socket_new(state)
        guard amqp_socket_open(socket, "127.0.0.1", port) == AMQP_STATUS_OK.rawValue else {
            throw Failure(description: "cannot connect to 127.0.0.1:\(port)")
        }
        var properties = amqp_table_t(num_entries: 0, entries: nil)
        try check(mostrador_amqp_login_plain(state, "/", 0, 131_072, 10, &properties, "guest", "guest"))
        amqp_channel_open(state, 1)
        try check(amqp_get_rpc_reply(state))
        let queue = "bench.raw.\(UUID().uuidString.prefix(8))"
        try queue.withCString { name in
            var type = Array("quorum".utf8)
            var key = Array("x-queue-type".utf8)
            try type.withUnsafeMutableBytes { typeBytes in
                try key.withUnsafeMutableBytes { keyBytes in
                    var entry = amqp_table_entry_t()
                    entry.key = amqp_bytes_t(len: keyBytes.count, bytes: keyBytes.baseAddress)
                    entry.value.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                    entry.value.value.bytes = amqp_bytes_t(len: typeBytes.count, bytes: typeBytes.baseAddress)
                    try withUnsafeMutablePointer(to: &entry) { entries in
                        amqp_queue_declare(
                            state, 1, amqp_cstring_bytes(name), 0, 1, 0, 0,
                            amqp_table_t(num_entries: 1, entries: entries)
                        )
                        try check(amqp_get_rpc_reply(state))
                    }
                }
            }
        }
        amqp_confirm_select(state, 1)
        try check(amqp_get_rpc_reply(state))

        print("rabbitmq-c: \(count) persistent \(size)-byte messages, quorum queue, window \(window)")
        var body = [UInt8](repeating: 0x61, count: size)
        var basic = amqp_basic_properties_t()
        basic._flags = UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        basic.delivery_mode = 2
        let start = ContinuousClock.now
        var published: UInt64 = 0
        var confirmed: UInt64 = 0
        try queue.withCString { name in
            try body.withUnsafeMutableBytes { bytes in
                let payload = amqp_bytes_t(len: bytes.count, bytes: bytes.baseAddress)
                while published < UInt64(count) {
                    let end = min(published + UInt64(window), UInt64(count))
                    while published < end {
                        guard
                            amqp_basic_publish(
                                state, 1, amqp_empty_bytes, amqp_cstring_bytes(name), 0, 0, &basic, payload)
                                == AMQP_STATUS_OK.rawValue
                        else { throw Failure(description: "publish failed") }
                        published += 1
                    }
                    while confirmed < published {
                        var frame = amqp_frame_t()
                        guard amqp_simple_wait_frame(state, &frame) == AMQP_STATUS_OK.rawValue else {
                            throw Failure(description: "wait failed")
                        }
                        if frame.frame_type == MOSTRADOR_FRAME_METHOD, frame.payload.method.id == MOSTRADOR_BASIC_ACK {
                            var method = frame.payload.method
                            confirmed = mostrador_method_basic_ack(&method).pointee.delivery_tag
                        }
                    }
                    amqp_maybe_release_buffers(state)
                }
            }
        }
        print("  publish (confirmed): \(rate(count, ContinuousClock.now - start))")

        amqp_basic_qos(state, 1, 0, prefetch, 0)
        try check(amqp_get_rpc_reply(state))
        queue.withCString { name in
            _ = amqp_basic_consume(state, 1, amqp_cstring_bytes(name), amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
        }
        try check(amqp_get_rpc_reply(state))
        let consumeStart = ContinuousClock.now
        var received = 0
        while received < count {
            amqp_maybe_release_buffers(state)
            var envelope = amqp_envelope_t()
            let reply = amqp_consume_message(state, &envelope, nil, 0)
            guard reply.reply_type == AMQP_RESPONSE_NORMAL else { continue }
            amqp_basic_ack(state, envelope.channel, envelope.delivery_tag, 0)
            amqp_destroy_envelope(&envelope)
            received += 1
        }
        print("  consume (acked):     \(rate(received, ContinuousClock.now - consumeStart))")
        _ = amqp_channel_close(state, 1, MOSTRADOR_REPLY_SUCCESS)
        _ = amqp_connection_close(state, MOSTRADOR_REPLY_SUCCESS)
    }

    func check(_ reply: amqp_rpc_reply_t) throws {
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
            throw Failure(description: "rabbitmq-c reply \(reply.reply_type) library error \(reply.library_error)")
        }
    }
}
