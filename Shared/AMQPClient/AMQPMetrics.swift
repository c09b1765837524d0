import Metrics

/// Counters for one connection, exported through whatever metrics backend the process bootstrapped.
struct AMQPMetrics: Sendable {
    let published: Counter
    let confirmed: Counter
    let nacked: Counter
    let returned: Counter
    let delivered: Counter
    let redelivered: Counter
    let acked: Counter
    let requeued: Counter
    let deadLettered: Counter
    let reconnects: Counter

    init(connection: String) {
        let dimensions = [("connection", connection)]
        func counter(_ name: String) -> Counter {
            Counter(label: "mostrador_amqp_\(name)_total", dimensions: dimensions)
        }
        published = counter("published")
        confirmed = counter("confirmed")
        nacked = counter("nacked")
        returned = counter("returned")
        delivered = counter("delivered")
        redelivered = counter("redelivered")
        acked = counter("acked")
        requeued = counter("requeued")
        deadLettered = counter("dead_lettered")
        reconnects = counter("reconnects")
    }
}
