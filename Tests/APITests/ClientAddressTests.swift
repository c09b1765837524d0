import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import MostradorAPI

/// Who the client is behind a proxy: addresses, CIDR ranges, the right-to-left walk of `X-Forwarded-For` and
/// `Forwarded` (hostile inputs included), the rate-limit key, and the guest chat limit per real client (review I4).
@Suite struct ClientAddressTests {
    static func address(_ text: String) throws -> IPAddress { try #require(IPAddress(text), "\(text)") }

    static func headers(_ name: HTTPField.Name, _ values: String...) -> HTTPFields {
        var fields = HTTPFields()
        for value in values { fields.append(HTTPField(name: name, value: value)) }
        return fields
    }

    // MARK: Addresses and ranges

    @Test func addressesParseStrictly() throws {
        #expect(try Self.address("192.0.2.1") == .v4(0xC000_0201))
        #expect(try Self.address("::ffff:192.0.2.1") == .v4(0xC000_0201))
        #expect(try Self.address("2001:db8::1").description == "2001:db8::1")
        #expect(try Self.address("2001:0DB8:0000::0001").description == "2001:db8::1")
        #expect(try Self.address("203.0.113.7").description == "203.0.113.7")
        for garbage in [
            "", "1.2.3", "256.1.1.1", "1.2.3.4:80", "[::1]", "fe80::1%eth0", "localhost", "01.2.3.4 ", "::g",
            String(repeating: "1", count: 10_000), "1.2.3.4\0",
        ] {
            #expect(IPAddress(garbage) == nil, "\(garbage.prefix(40))")
        }
    }

    @Test func rangesMatchTheirAddressesOnly() throws {
        let ten = try #require(IPNetwork("10.0.0.0/8"))
        #expect(try ten.contains(Self.address("10.255.1.2")))
        #expect(!ten.contains(try Self.address("11.0.0.1")))
        #expect(!ten.contains(try Self.address("::a00:1")))  // IPv4-compatible, not IPv4-mapped: an IPv6 address
        let host = try #require(IPNetwork("192.168.1.7"))
        #expect(try host.contains(Self.address("192.168.1.7")) && !host.contains(Self.address("192.168.1.8")))
        let documentation = try #require(IPNetwork("2001:db8::/32"))
        #expect(try documentation.contains(Self.address("2001:db8:ffff::1")))
        #expect(!documentation.contains(try Self.address("2001:db9::1")))
        #expect(!documentation.contains(try Self.address("32.1.13.184")))  // 2001:0db8 read as IPv4 bits
        let odd = try #require(IPNetwork("2001:db8:0:80::/57"))
        #expect(try odd.contains(Self.address("2001:db8:0:ff::1")) && !odd.contains(Self.address("2001:db8::1")))
        let everyV4 = try #require(IPNetwork("0.0.0.0/0"))
        #expect(try everyV4.contains(Self.address("203.0.113.7")) && !everyV4.contains(Self.address("::1")))
        let everyV6 = try #require(IPNetwork("::/0"))
        #expect(try everyV6.contains(Self.address("::1")) && !everyV6.contains(Self.address("127.0.0.1")))
        // An IPv4 range written in IPv6 terms, as a dual-stack proxy configuration may say it.
        let mapped = try #require(IPNetwork("::ffff:10.0.0.0/104"))
        #expect(try mapped.contains(Self.address("10.1.2.3")) && mapped.description == "10.0.0.0/8")
        for bad in ["10.0.0.0/33", "10.0.0.0/", "/8", "abc", "::/129", "10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/+8"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test func aProxyListNamesItsBadEntry() throws {
        #expect(try TrustedProxies(parsing: "").networks.isEmpty)
        #expect(try TrustedProxies(parsing: " 10.0.0.0/8 , ::1,").networks.count == 2)
        #expect {
            try TrustedProxies(parsing: "10.0.0.0/8, proxy.local")
        } throws: { error in
            "\(error)" == "'proxy.local' is not an IP address or CIDR range"
        }
    }

    @Test func theRateLimitKeyBucketsIPv6ByItsSlash64() throws {
        #expect(ClientAddress(ip: try Self.address("203.0.113.7")).rateLimitKey == "203.0.113.7")
        let one = ClientAddress(ip: try Self.address("2001:db8:1:2:aaaa::1")).rateLimitKey
        let sameSubscriber = ClientAddress(ip: try Self.address("2001:db8:1:2:ffff:ffff:ffff:ffff")).rateLimitKey
        let neighbour = ClientAddress(ip: try Self.address("2001:db8:1:3::1")).rateLimitKey
        #expect(one == "2001:db8:1:2::/64" && one == sameSubscriber && one != neighbour)
        // No peer at all (in process): one fixed key, limited like any other.
        #expect(ClientAddress(ip: nil).rateLimitKey == "no-peer")
    }

    // MARK: Walking the proxy header

    let proxies = TrustedProxies(networks: [IPNetwork("10.0.0.0/8")!, IPNetwork("fd00::/8")!])

    func client(_ peer: String?, _ headers: HTTPFields) throws -> String {
        "\(proxies.client(peer: try peer.map(Self.address), headers: headers))"
    }

    @Test func anUntrustedPeerIsTheClientWhateverItClaims() throws {
        #expect(try client("198.51.100.9", Self.headers(.xForwardedFor, "203.0.113.1")) == "198.51.100.9")
        #expect(try client(nil, Self.headers(.xForwardedFor, "203.0.113.1")) == "-")
    }

    @Test func aTrustedProxyNamesTheFirstUntrustedHopFromTheRight() throws {
        #expect(try client("10.0.0.1", Self.headers(.xForwardedFor, "203.0.113.9")) == "203.0.113.9")
        // What the client wrote itself (left of the first untrusted hop) is never believed, nor read.
        #expect(
            try client("10.0.0.1", Self.headers(.xForwardedFor, "198.51.100.1, 203.0.113.9, 10.0.0.2"))
                == "203.0.113.9")
        #expect(try client("10.0.0.1", Self.headers(.xForwardedFor, "garbage, 203.0.113.9")) == "203.0.113.9")
        // Every hop trusted: the request started inside, at the leftmost.
        #expect(try client("10.0.0.1", Self.headers(.xForwardedFor, "10.0.0.3, 10.0.0.2")) == "10.0.0.3")
        // Several header lines are one list, in order; ports and brackets are what proxies write.
        #expect(
            try client("10.0.0.1", Self.headers(.xForwardedFor, "203.0.113.5", "203.0.113.9:4711, 10.0.0.2"))
                == "203.0.113.9")
        #expect(try client("fd00::1", Self.headers(.xForwardedFor, "[2001:db8::1]:4711")) == "2001:db8::1")
        #expect(try client("::ffff:10.0.0.1", Self.headers(.xForwardedFor, "2001:db8::7")) == "2001:db8::7")
    }

    @Test func malformedHugeOrDeepHeadersGiveThePeer() throws {
        for hostile in [
            "", "garbage", "203.0.113.9, garbage", "203.0.113.9,", "unknown", "203.0.113.9:99999", "[2001:db8::1",
            "2001:db8::1]:80", "203.0.113.9 10.0.0.2", "\u{202E}203.0.113.9",
        ] {
            #expect(try client("10.0.0.1", Self.headers(.xForwardedFor, hostile)) == "10.0.0.1", "\(hostile)")
        }
        let huge = Array(repeating: "203.0.113.9", count: 2_000).joined(separator: ", ")
        #expect(try client("10.0.0.1", Self.headers(.xForwardedFor, huge)) == "10.0.0.1")
        // A client behind 10 trusted hops is found; past the walk's depth the peer is the client.
        let hops = (1...10).map { "10.0.1.\($0)" }.joined(separator: ", ")
        #expect(try client("10.0.0.1", Self.headers(.xForwardedFor, "203.0.113.9, " + hops)) == "203.0.113.9")
        let deep = (1...60).map { "10.0.1.\($0)" }.joined(separator: ", ")
        #expect(try client("10.0.0.1", Self.headers(.xForwardedFor, "203.0.113.9, " + deep)) == "10.0.0.1")
    }

    @Test func theForwardedHeaderIsReadOnlyWhenConfigured() throws {
        let rfc = TrustedProxies(networks: proxies.networks, header: .forwarded)
        func client(_ value: String) throws -> String {
            "\(rfc.client(peer: try Self.address("10.0.0.1"), headers: Self.headers(.forwarded, value)))"
        }
        #expect(try client("for=192.0.2.43") == "192.0.2.43")
        #expect(try client(#"for="[2001:db8:cafe::17]:4711""#) == "2001:db8:cafe::17")
        #expect(try client(#"For="[2001:db8:cafe::17]";proto=https, for=10.0.0.2;by=10.0.0.1"#) == "2001:db8:cafe::17")
        #expect(try client(#"for=198.51.100.1, by="a,b;c";for=192.0.2.60;proto=http"#) == "192.0.2.60")
        #expect(try client("proto=https;for=192.0.2.60:8080") == "192.0.2.60")
        #expect(try client("for=192.0.2.1;") == "192.0.2.1")
        for hostile in [#"for="_hidden""#, "for=unknown", #"for="[2001:db8::1"#, "proto=https", "for=", "for=a=b"] {
            #expect(try client(hostile) == "10.0.0.1", "\(hostile)")
        }
        // A proxy that writes `Forwarded` passes a client's own `X-Forwarded-For` through: it is not read.
        #expect(
            "\(rfc.client(peer: try Self.address("10.0.0.1"), headers: Self.headers(.xForwardedFor, "192.0.2.9")))"
                == "10.0.0.1")
        #expect(try self.client("10.0.0.1", Self.headers(.forwarded, "for=192.0.2.43")) == "10.0.0.1")
    }

    // MARK: The guest chat limit per real client (test 20 of the review)

    static func startChat(_ api: APITestSystem, forwardedFor: String) async throws -> Int {
        let port = try #require(api.client.port)
        let response = try await TestClient.withClient(host: "localhost", port: port) { client in
            try await client.execute(
                .init(
                    "/api/chat/start_chat/", method: .post, authority: "localhost",
                    headers: [.contentType: "application/json", .xForwardedFor: forwardedFor],
                    body: ByteBuffer(string: #"{"initial_message": "hola"}"#)))
        }
        return Int(response.status.code)
    }

    static func expectStart(
        _ api: APITestSystem, forwardedFor: String, status: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let answered = try await startChat(api, forwardedFor: forwardedFor)
        #expect(answered == status, "X-Forwarded-For: \(forwardedFor)", sourceLocation: sourceLocation)
    }

    @Test func tenClientsBehindOneTrustedProxyEachGetTheirOwnAllowance() async throws {
        try await APITestSystem.with(
            transport: .live,
            configure: {
                $0.guestChatsPerIP = 2
                $0.trustedProxies = TrustedProxies(networks: [IPNetwork("127.0.0.1/32")!, IPNetwork("::1")!])
            }
        ) { api in
            for client in 1...10 {
                for _ in 1...2 {
                    try await Self.expectStart(api, forwardedFor: "203.0.113.\(client)", status: 200)
                }
            }
            // Each real client is out of chats; the proxy itself is not, and neither is an eleventh client.
            try await Self.expectStart(api, forwardedFor: "203.0.113.1", status: 429)
            try await Self.expectStart(api, forwardedFor: "198.51.100.1, 203.0.113.10", status: 429)
            try await Self.expectStart(api, forwardedFor: "203.0.113.11", status: 200)
            // A rotating IPv6 /64 is one client.
            try await Self.expectStart(api, forwardedFor: "2001:db8:1:2::1", status: 200)
            try await Self.expectStart(api, forwardedFor: "2001:db8:1:2::2", status: 200)
            try await Self.expectStart(api, forwardedFor: "2001:db8:1:2:ffff::9", status: 429)
        }
    }

    @Test func aSpoofedForwardedForFromAnUntrustedPeerDoesNotHelp() async throws {
        try await APITestSystem.with(transport: .live, configure: { $0.guestChatsPerIP = 2 }) { api in
            try await Self.expectStart(api, forwardedFor: "203.0.113.1", status: 200)
            try await Self.expectStart(api, forwardedFor: "203.0.113.2", status: 200)
            // The peer is limited, whatever address it claims to forward for.
            try await Self.expectStart(api, forwardedFor: "203.0.113.3", status: 429)
        }
    }

    @Test func requestsWithoutAPeerAreLimitedUnderOneKey() async throws {
        try await APITestSystem.with(configure: { $0.guestChatsPerIP = 1 }) { api in
            #expect(try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "hola"]).status == 200)
            let limited = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "otra"])
            #expect(limited.status == 429)
        }
    }
}
