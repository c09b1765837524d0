import AsyncHTTPClient
import Foundation
import NIOCore

/// Checks a reCAPTCHA token with the verification server (Google's, or any server speaking its protocol).
struct RecaptchaVerifier: Sendable {
    let secret: String
    let url: String
    let minimumScore: Double

    /// True when the server says the token is good (and, for v3, the score is high enough).
    func verify(_ token: String, remoteIP: String?) async -> Bool {
        guard !token.isEmpty, token.count < 4096 else { return false }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        var form = "secret=\(Self.encode(secret))&response=\(Self.encode(token))"
        if let remoteIP { form += "&remoteip=\(Self.encode(remoteIP))" }
        request.body = .bytes(ByteBuffer(string: form))
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(5)),
            response.status.code == 200,
            let body = try? await response.body.collect(upTo: 64 << 10),
            let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            object["success"] as? Bool == true
        else { return false }
        if let score = object["score"] as? Double { return score >= minimumScore }
        return true
    }

    static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? ""
    }
}
