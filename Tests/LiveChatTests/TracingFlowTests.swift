import Foundation
import TestSupport
import Testing

/// W3C trace context from a technician's request, through the outbox, the broker and the relay, to WhatsApp.
@Suite("One trace from the technician's request to the bridge", .serialized)
struct TracingFlowTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    static func send(_ system: MostradorSystem, _ ticketID: Int, traceparent: String) async throws -> HTTPResult {
        try await HTTP.post(
            "\(system.baseURL)/ticket/\(ticketID)/enviar-mensaje", json: ["mensaje": "Ya está listo su equipo"],
            headers: ["Authorization": "Token \(try await system.adminToken())", "traceparent": traceparent])
    }

    static func parts(_ traceparent: String?) -> [String] {
        (traceparent ?? "").split(separator: "-").map(String.init)
    }

    @Test func theCallersTraceReachesTheBridgeOneHopFurtherAndNamesTheRelaysLogLines() async throws {
        try await MostradorSystem.with(environment: ["MOSTRADOR_LOG_LEVEL": "debug"]) { system in
            let ticketID = try await system.receive(["remitente": "5215550002222", "contenido": "no carga"])
            let incoming = "00-\(Self.traceID)-00f067aa0ba902b7-01"
            let sent = try await Self.send(system, ticketID, traceparent: incoming)
            #expect(sent.status == 200, "\(sent.text)")

            // The answer names the trace, with the api's own span.
            let answered = Self.parts(sent.headers.first { $0.0.lowercased() == "traceresponse" }?.1)
            #expect(answered.count == 4 && answered[1] == Self.traceID && answered[2] != "00f067aa0ba902b7")

            // The bridge got the same trace, from a span of the relay (neither the caller's nor the api's).
            let request = try #require(system.bridge.delivered.last)
            let forwarded = Self.parts(request.traceparent)
            #expect(forwarded.count == 4, "\(request.traceparent ?? "none")")
            #expect(forwarded.first == "00" && forwarded.dropFirst().first == Self.traceID)
            #expect(forwarded.count == 4 && forwarded[2] != "00f067aa0ba902b7" && forwarded[2] != answered[2])
            #expect(forwarded.last == "01")

            // The relay's log lines about that send carry the trace id.
            let relay = try #require(system.relay)
            #expect(
                await eventually { relay.output.contains("trace_id=\(Self.traceID)") },
                "\(relay.output.suffix(3000))")
        }
    }

    @Test(arguments: [
        "garbage", "00-\(traceID)-00f067aa0ba902b7", "ff-\(traceID)-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-\(traceID.uppercased())-00f067aa0ba902b7-01",
    ])
    func aTraceparentThatDoesNotParseStartsANewTraceThatStillReachesTheBridge(_ value: String) async throws {
        try await MostradorSystem.with { system in
            let ticketID = try await system.receive(["remitente": "5215550003333", "contenido": "no imprime"])
            let sent = try await Self.send(system, ticketID, traceparent: value)
            #expect(sent.status == 200, "\(sent.text)")
            let answered = Self.parts(sent.headers.first { $0.0.lowercased() == "traceresponse" }?.1)
            #expect(answered.count == 4 && answered[1] != Self.traceID && answered[1] != Self.traceID.uppercased())
            let forwarded = Self.parts(try #require(system.bridge.delivered.last).traceparent)
            #expect(forwarded.count == 4 && answered.count == 4 && forwarded[1] == answered[1])
        }
    }
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, each service sends its spans to the collector; they form one tree.
@Suite("Spans exported over OTLP")
struct TraceExportTests {
    @Test func theApiRequestTheRelaysHandlingAndItsCallToTheBridgeArriveAsOneTree() async throws {
        let collector = try await FakeOTLPCollector()
        try await MostradorSystem.with(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": collector.url]) { system in
            let ticketID = try await system.receive(["remitente": "5215550004444", "contenido": "no enciende"])
            let incoming = "00-\(TracingFlowTests.traceID)-00f067aa0ba902b7-01"
            let sent = try await TracingFlowTests.send(system, ticketID, traceparent: incoming)
            #expect(sent.status == 200, "\(sent.text)")
            let forwarded = TracingFlowTests.parts(try #require(system.bridge.delivered.last).traceparent)
            try #require(forwarded.count == 4)

            // Each process exports about a second after a span ends, on its own clock: wait for all three.
            var ours: [FakeOTLPCollector.ReceivedSpan] = []
            let arrived = await eventually(timeout: .seconds(20)) {
                ours = collector.spans.filter { $0.traceID == TracingFlowTests.traceID }
                return ours.contains { $0.service == "mostrador-api" && $0.kind == 2 }
                    && ours.contains { $0.service == "mostrador-bridge-relay" && $0.kind == 5 }
                    && ours.contains { $0.service == "mostrador-bridge-relay" && $0.kind == 3 }
            }
            #expect(arrived, "\(collector.spans.map { "\($0.service) \($0.name)" })")
            // The api's server span, child of the caller's span, named after the route (not the raw path).
            let server = try #require(ours.first { $0.service == "mostrador-api" && $0.kind == 2 })
            #expect(server.parentSpanID == "00f067aa0ba902b7")
            #expect(server.name == "POST /ticket/{id}/enviar-mensaje")
            #expect(server.attributes["http.response.status_code"] == "200")
            #expect(!server.failed)
            // The relay handled the command as a child of it, and called the bridge as a child of that.
            let consumer = try #require(ours.first { $0.service == "mostrador-bridge-relay" && $0.kind == 5 })
            #expect(consumer.parentSpanID == server.spanID)
            #expect(consumer.attributes["messaging.destination.name"] == "relay.send")
            let client = try #require(ours.first { $0.service == "mostrador-bridge-relay" && $0.kind == 3 })
            #expect(client.parentSpanID == consumer.spanID)
            #expect(client.attributes["http.response.status_code"] == "200")
            // The bridge saw the client span's own id.
            #expect(forwarded[2] == client.spanID)
        }
        // Spans of a request without a traceparent start traces of their own: the webhook's, for one.
        #expect(collector.spans.contains { $0.service == "mostrador-api" && $0.traceID != TracingFlowTests.traceID })
    }
}
