import Crypto
import Foundation

/// The bridge's signature over a webhook (Stripe-like), checked when `MOSTRADOR_WEBHOOK_HMAC_KEY` is set:
/// `X-Mostrador-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + raw body)>`. Several `v1=` are
/// accepted (key rotation on the bridge's side); `t` must be within `maximumSkew` of the api's clock, so a captured
/// request cannot be replayed later (inside the window, `id_mensaje` de-duplicates).
struct WebhookSignature: Sendable {
    static let header = "X-Mostrador-Signature"

    let key: SymmetricKey
    let maximumSkew: TimeInterval

    init(key: String, maximumSkew: TimeInterval = 300) {
        self.key = SymmetricKey(data: Data(key.utf8))
        self.maximumSkew = maximumSkew
    }

    enum Problem: Error, Equatable, CustomStringConvertible {
        case missing
        case malformed
        case stale
        case mismatch

        /// What the bridge's operator reads in the 401.
        var description: String {
            switch self {
            case .missing: "Falta la cabecera \(WebhookSignature.header)"
            case .malformed: "La cabecera \(WebhookSignature.header) no tiene la forma t=<segundos>,v1=<hex>"
            case .stale: "La firma del webhook está fuera de la ventana de tiempo permitida"
            case .mismatch: "La firma del webhook no es válida"
            }
        }
    }

    /// Checks `header` against the raw `body` at `now`; throws which part is wrong.
    func verify(_ header: String?, body: some Collection<UInt8>, now: Date) throws(Problem) {
        guard let header, !header.isEmpty else { throw .missing }
        let parsed = try Self.parse(header)
        guard abs(now.timeIntervalSince1970 - Double(parsed.timestamp)) <= maximumSkew else { throw .stale }
        var signed = Data("\(parsed.timestamp).".utf8)
        signed.append(contentsOf: body)
        // `isValidAuthenticationCode` compares in constant time.
        guard
            parsed.signatures.contains(where: {
                HMAC<SHA256>.isValidAuthenticationCode($0, authenticating: signed, using: key)
            })
        else { throw .mismatch }
    }

    /// The signature a bridge sends for `body` at `timestamp` (for the simulator, the docs and the tests).
    func header(for body: some Collection<UInt8>, timestamp: Int64) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(contentsOf: body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: key)
        return "t=\(timestamp),v1=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// `t=…,v1=…[,v1=…]`: the timestamp and each 32-byte signature; unknown schemes (`v0=`) are ignored.
    static func parse(_ header: String) throws(Problem) -> (timestamp: Int64, signatures: [[UInt8]]) {
        guard header.utf8.count <= 1024 else { throw .malformed }
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { throw .malformed }
            let name = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch name {
            case "t":
                guard timestamp == nil, value.utf8.count <= 12, let seconds = Int64(value), seconds >= 0 else {
                    throw .malformed
                }
                timestamp = seconds
            case "v1":
                guard let bytes = hexBytes(value), bytes.count == SHA256.byteCount else { throw .malformed }
                signatures.append(bytes)
            default:
                continue
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformed }
        return (timestamp, signatures)
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
