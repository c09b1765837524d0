import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where an outbound webhook may point: `http` or `https`, a host, no credentials in the URL, and — unless the
/// operator allows it (`MOSTRADOR_OUTBOUND_WEBHOOKS_ALLOW_PRIVATE`) — no loopback, private, link-local or otherwise
/// internal address, neither written in the URL nor what its name resolves to when a delivery goes out. A panel
/// session must not become a way to reach the machine's own services or a cloud metadata endpoint.
struct WebhookAddress: Sendable {
    let allowPrivate: Bool

    static let maximumLength = 2000

    /// Addresses a webhook never reaches unless private ones are allowed.
    static let internalNetworks: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128",
        "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96",
    ].compactMap(IPNetwork.init)

    struct Refused: Error, Equatable {
        let reason: String
    }

    /// The URL as it will be stored, or why it is refused (in Spanish, for the admin).
    func check(_ text: String) throws(Refused) -> URL {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw Refused(reason: "Falta 'url'") }
        guard text.utf8.count <= Self.maximumLength else {
            throw Refused(reason: "'url' admite hasta \(Self.maximumLength) caracteres")
        }
        guard let components = URLComponents(string: text), let url = components.url,
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else { throw Refused(reason: "'url' debe ser una dirección http:// o https://") }
        guard let host = components.host, !host.isEmpty else { throw Refused(reason: "'url' no tiene servidor") }
        guard components.user == nil, components.password == nil else {
            throw Refused(reason: "'url' no puede llevar usuario ni contraseña: la firma autentica las entregas")
        }
        guard components.fragment == nil else { throw Refused(reason: "'url' no puede llevar un fragmento (#…)") }
        if !allowPrivate, Self.isInternal(host: host) {
            throw Refused(reason: "'url' apunta a una dirección interna (loopback, privada o local)")
        }
        return url
    }

    /// Whether a host written in a URL is internal: a name like `localhost`, or an address in `internalNetworks`.
    static func isInternal(host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if host == "localhost" || host.hasSuffix(".localhost") || host.hasSuffix(".local")
            || host.hasSuffix(".internal")
        {
            return true
        }
        if let address = IPAddress(host) { return isInternal(address) }
        // Numeric shorthands (`2130706433`, `0x7f.1`, `127.1`) that resolvers read as IPv4.
        if host.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" }), host.first?.isNumber == true {
            return true
        }
        return false
    }

    static func isInternal(_ address: IPAddress) -> Bool {
        internalNetworks.contains { $0.contains(address) }
    }

    /// Checked again at delivery time: every address the host resolves to must be public (a name can point inside
    /// after the URL was saved). Runs the blocking resolver off the cooperative pool.
    func checkResolved(_ url: URL) async throws(Refused) {
        guard !allowPrivate, let host = url.host else { return }
        let addresses: [IPAddress]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { Self.resolve(host) }
        } catch {
            throw Refused(reason: "could not resolve \(host)")
        }
        if addresses.isEmpty { throw Refused(reason: "\(host) does not resolve") }
        if let inside = addresses.first(where: Self.isInternal) {
            throw Refused(reason: "\(host) resolves to an internal address (\(inside))")
        }
    }

    static func resolve(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                current.pointee.ai_addr, current.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0,
                NI_NUMERICHOST) == 0
            {
                let name = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let address = IPAddress(name.split(separator: "%").first ?? "") { addresses.append(address) }
            }
            node = current.pointee.ai_next
        }
        return addresses
    }
}
