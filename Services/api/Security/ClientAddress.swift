import Foundation
import HTTPTypes
import Hummingbird

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address as numbers. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket
/// reports for an IPv4 peer) are IPv4.
enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    /// Parses a plain address (`192.0.2.1`, `2001:db8::1`); nil for anything else (ports, brackets, zones, names).
    init?(_ text: some StringProtocol) {
        guard !text.isEmpty, text.utf8.count <= 45, text.utf8.allSatisfy(Self.isAddressByte) else { return nil }
        let text = String(text)
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if high == 0, low >> 32 == 0xffff {
                self = .v4(UInt32(truncatingIfNeeded: low))
            } else {
                self = .v6(high: high, low: low)
            }
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            self = .v4(UInt32(bigEndian: raw.s_addr))
        }
    }

    /// Hex digits, `:` and `.`: nothing else (no zone, no NUL that would end the C string early) reaches `inet_pton`.
    private static func isAddressByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: ":"), UInt8(ascii: "."):
            true
        default: false
        }
    }

    var isV6: Bool { if case .v6 = self { true } else { false } }

    var description: String {
        switch self {
        case .v4(let value):
            return (0..<4).map { String(value >> (24 - 8 * $0) & 0xff) }.joined(separator: ".")
        case .v6(let high, let low):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { bytes in
                for index in 0..<8 {
                    bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
                    bytes[index + 8] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
                }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "::" }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// A range of addresses in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a range of one.
struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    let address: IPAddress
    let prefixLength: Int

    init?(_ text: some StringProtocol) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        let isV4 = if case .v4 = address { true } else { false }
        // `::ffff:10.0.0.0/104` is written in IPv6 terms for the IPv4 range 10.0.0.0/8.
        let mapped = isV4 && parts[0].contains(":")
        var length = isV4 ? 32 : 128
        if parts.count == 2 {
            guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let given = Int(parts[1]),
                (0...(mapped || !isV4 ? 128 : 32)).contains(given)
            else { return nil }
            length = mapped ? given - 96 : given
            guard length >= 0 else { return nil }
        }
        self.address = Self.masked(address, to: length)
        prefixLength = length
    }

    /// Whether `candidate` lies in the range (an IPv4 range holds no IPv6 address, and the reverse).
    func contains(_ candidate: IPAddress) -> Bool {
        Self.masked(candidate, to: prefixLength) == address
    }

    var description: String { "\(address)/\(prefixLength)" }

    static func masked(_ address: IPAddress, to length: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(length == 0 ? 0 : value & ~UInt32(0) << (32 - length))
        case .v6(let high, let low):
            let highMask: UInt64 = length >= 64 ? ~0 : (length == 0 ? 0 : ~UInt64(0) << (64 - length))
            let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? ~0 : ~UInt64(0) << (128 - length))
            return .v6(high: high & highMask, low: low & lowMask)
        }
    }
}

/// Who is calling, as far as the api can tell: the TCP peer, or the client a trusted proxy names.
struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// nil when the request has no peer address (in-process tests).
    let ip: IPAddress?

    /// The key rate limits count under: the IPv4 address, the IPv6 /64 (one subscriber's usual allocation, so
    /// rotating through it does not buy more attempts), or one fixed key for every request without a peer, which is
    /// limited like any other.
    var rateLimitKey: String {
        switch ip {
        case .some(let address) where address.isV6: "\(IPNetwork.masked(address, to: 64))/64"
        case .some(let address): "\(address)"
        case nil: "no-peer"
        }
    }

    var description: String { ip.map(\.description) ?? "-" }
}

/// The proxies whose word about the client is taken (`MOSTRADOR_TRUSTED_PROXIES`) and the header they write it in.
struct TrustedProxies: Sendable {
    /// The one header the proxies write: the other one is ignored, since a proxy passes through what a client sent
    /// in a header it does not manage.
    enum Header: String, Sendable {
        case xForwardedFor = "x-forwarded-for"
        case forwarded
    }

    struct Invalid: Error, CustomStringConvertible {
        let entry: String
        var description: String { "'\(entry.prefix(64))' is not an IP address or CIDR range" }
    }

    let networks: [IPNetwork]
    var header = Header.xForwardedFor

    /// A chain longer than this (all trusted) is not walked: the client is the peer.
    static let maximumHops = 16
    /// Header values longer than this are not parsed: the client is the peer.
    static let maximumHeaderLength = 8 << 10

    init(networks: [IPNetwork] = [], header: Header = .xForwardedFor) {
        self.networks = networks
        self.header = header
    }

    /// A comma-separated list of CIDR ranges or addresses; empty trusts nobody.
    init(parsing list: String, header: Header = .xForwardedFor) throws {
        let entries = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        networks = try entries.map { entry in
            guard let network = IPNetwork(entry) else { throw Invalid(entry: entry) }
            return network
        }
        self.header = header
    }

    func trusts(_ address: IPAddress) -> Bool { networks.contains { $0.contains(address) } }

    /// The client of a request from `peer`: the peer itself unless it is a trusted proxy; then, walking the proxy
    /// header right to left past trusted hops, the first untrusted address (or the leftmost, when every hop is
    /// trusted). A header that is missing, malformed where the walk reaches it, too long or too deep gives the peer.
    /// What lies left of the first untrusted address is the client's own say and is never read.
    func client(peer: IPAddress?, headers: HTTPFields) -> ClientAddress {
        guard let peer, trusts(peer) else { return ClientAddress(ip: peer) }
        let name = header == .forwarded ? HTTPField.Name.forwarded : HTTPField.Name.xForwardedFor
        let value = headers[values: name].joined(separator: ",")
        guard !value.isEmpty, value.utf8.count <= Self.maximumHeaderLength else { return ClientAddress(ip: peer) }
        let hops: [Substring]? =
            header == .forwarded
            ? Self.forwardedFor(value) : value.split(separator: ",", omittingEmptySubsequences: false)
        guard let hops else { return ClientAddress(ip: peer) }
        var client = peer
        for (walked, hop) in hops.reversed().enumerated() {
            guard walked < Self.maximumHops, let address = Self.address(ofNode: hop) else {
                return ClientAddress(ip: peer)
            }
            client = address
            if !trusts(address) { break }
        }
        return ClientAddress(ip: client)
    }

    /// An address as proxies write a node: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
    /// `[2001:db8::1]:4711`; nil for anything else (`unknown`, obfuscated names, garbage).
    static func address(ofNode node: Substring) -> IPAddress? {
        let node = node.trimmingCharacters(in: .whitespaces)
        if node.hasPrefix("[") {
            guard let close = node.firstIndex(of: "]") else { return nil }
            let rest = node[node.index(after: close)...]
            guard rest.isEmpty || isPort(rest.dropFirst()) && rest.hasPrefix(":") else { return nil }
            return IPAddress(node[node.index(after: node.startIndex)..<close])
        }
        if let colon = node.firstIndex(of: ":"), node.lastIndex(of: ":") == colon {
            guard isPort(node[node.index(after: colon)...]) else { return nil }
            return IPAddress(node[..<colon]).flatMap { if case .v4 = $0 { $0 } else { nil } }
        }
        return IPAddress(node)
    }

    private static func isPort(_ text: Substring) -> Bool {
        (1...5).contains(text.count) && text.allSatisfy { $0.isASCII && $0.isNumber } && UInt16(text) != nil
    }

    /// The `for=` value of each element of an RFC 7239 `Forwarded` value, in order; nil when an element has none or
    /// the value does not parse (an unterminated quote). Quoted strings may hold `,`, `;` and `\` escapes.
    static func forwardedFor(_ value: String) -> [Substring]? {
        var elements: [Substring?] = []
        var current: Substring? = nil
        var pairStart = value.startIndex
        var inQuotes = false
        var escaped = false
        var index = value.startIndex
        func closePair(at end: String.Index) {
            let pair = value[pairStart..<end].trimmingCharacters(in: .whitespaces)
            guard let equals = pair.firstIndex(of: "="), pair[..<equals].lowercased() == "for" else { return }
            var node = pair[pair.index(after: equals)...]
            if node.hasPrefix("\""), node.hasSuffix("\""), node.count >= 2 {
                node = node.dropFirst().dropLast()
            }
            current = Substring(node.replacingOccurrences(of: "\\", with: ""))
        }
        while index < value.endIndex {
            let character = value[index]
            if escaped {
                escaped = false
            } else if inQuotes {
                if character == "\\" { escaped = true } else if character == "\"" { inQuotes = false }
            } else if character == "\"" {
                inQuotes = true
            } else if character == ";" || character == "," {
                closePair(at: index)
                pairStart = value.index(after: index)
                if character == "," {
                    elements.append(current)
                    current = nil
                }
            }
            index = value.index(after: index)
        }
        guard !inQuotes else { return nil }
        closePair(at: value.endIndex)
        elements.append(current)
        // An element without `for=` names no node: the walk treats it as malformed when it gets there.
        return elements.map { $0 ?? "" }
    }
}

extension HTTPField.Name {
    static let forwarded = Self("Forwarded")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}

/// Resolves `APIRequestContext.clientAddress` once per request, before anything reads it.
struct ClientAddressMiddleware: RouterMiddleware {
    let proxies: TrustedProxies

    func handle(
        _ request: Request, context: APIRequestContext,
        next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        guard !proxies.networks.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = proxies.client(peer: context.clientAddress.ip, headers: request.headers)
        return try await next(request, context)
    }
}
