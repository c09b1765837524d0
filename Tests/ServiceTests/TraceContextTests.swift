import AMQPClient
import MostradorContracts
import MostradorMessaging
import MostradorTracing
import Testing

@Suite("W3C trace context")
struct TraceContextTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    @Test func theSpecificationsExampleParsesAndWritesBackTheSame() throws {
        let value = "00-\(Self.traceID)-00f067aa0ba902b7-01"
        let trace = try #require(TraceContext(traceparent: value))
        #expect(trace.traceID == Self.traceID)
        #expect(trace.spanID == "00f067aa0ba902b7")
        #expect(trace.sampled)
        #expect(trace.traceparent == value)
        #expect(TraceContext(traceparent: "00-\(Self.traceID)-00f067aa0ba902b7-00")?.sampled == false)
    }

    @Test func aLaterVersionIsReadAsVersionZeroAndWrittenAsIt() throws {
        let trace = try #require(TraceContext(traceparent: "cc-\(Self.traceID)-00f067aa0ba902b7-01-what-comes-next"))
        #expect(trace.traceparent == "00-\(Self.traceID)-00f067aa0ba902b7-01")
    }

    @Test(arguments: [
        "", "garbage", "00-\(traceID)-00f067aa0ba902b7", "00-\(traceID)-00f067aa0ba902b7-01-",
        "ff-\(traceID)-00f067aa0ba902b7-01", "00-\(traceID.uppercased())-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-\(traceID)-0000000000000000-01",
        "00-\(traceID)-00f067aa0ba902bz-01", "00_\(traceID)-00f067aa0ba902b7-01",
        "cc-\(traceID)-00f067aa0ba902b7-01x",
    ])
    func whatIsNotATraceparentIsRefused(_ value: String) {
        #expect(TraceContext(traceparent: value) == nil)
    }

    @Test func aChildKeepsTheTraceWithANewSpanAndANewTraceHasRandomIDs() {
        let started = TraceContext.start()
        let child = started.child()
        #expect(child.traceID == started.traceID && child.spanID != started.spanID && child.sampled)
        #expect(child.parentSpanID == started.spanID && started.parentSpanID == nil)
        // Read off the wire, a span has no parent of ours.
        let read = TraceContext(traceparent: child.traceparent)
        #expect(read?.traceparent == child.traceparent && read?.parentSpanID == nil)
        let other = TraceContext.start()
        #expect(other.traceID != started.traceID)
        #expect(started.traceID.count == 32 && started.spanID.count == 16)
    }

    @Test func aMessagePublishedUnderATraceCarriesItAndOneWithoutCarriesNothing() throws {
        let command = RelaySend(ticketID: 7, messageID: 1, recipient: "5215550001111", text: "hola")
        let untraced = try AMQPMessage(Envelope(command))
        #expect(untraced.properties.headers[TraceContext.header] == nil)
        #expect(untraced.properties.trace == nil)

        let trace = TraceContext(traceparent: "00-\(Self.traceID)-00f067aa0ba902b7-01")!
        let traced = try TraceContext.$current.withValue(trace) { try AMQPMessage(Envelope(command)) }
        // The publishing span: the consumer's span will be its child.
        let carried = try #require(traced.properties.trace)
        #expect(carried.traceparent == trace.traceparent)
    }
}
