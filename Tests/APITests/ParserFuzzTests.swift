import Foundation
import NIOCore
import Testing

@testable import MostradorAPI

/// Property tests over the parsers of outside bytes, with random and mutated inputs from a seeded generator (the
/// seed is printed on failure): whatever they get, they answer or refuse with a 4xx, never crash or 5xx.
/// `MOSTRADOR_FUZZ_ITERATIONS` (default 300) sets how many inputs each property gets; `Tests/Fuzz/run.sh` is the
/// coverage-guided libFuzzer counterpart for the Foundation-only parsers.
@Suite("Parser properties under random input")
struct ParserFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["MOSTRADOR_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 300

    /// SplitMix64: small, fast, reproducible from its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Characters that matter to the parsers, plus arbitrary bytes.
    static let alphabet: [UInt8] =
        Array("\"\\;:=@+-./ \r\n\t%'*0123456789abcdefABCDEF-_boundaryfilename".utf8)
        + [0, 0x7F, 0xC3, 0xA9, 0xCD, 0x82, 0xDC, 0x8F, 0xFF]

    static func bytes(_ count: Int, _ random: inout Generator) -> [UInt8] {
        (0..<count).map { _ in
            Bool.random(using: &random)
                ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
        }
    }

    /// `seed` with a few random edits: flips, insertions, deletions, truncation.
    static func mutate(_ seed: [UInt8], _ random: inout Generator) -> [UInt8] {
        var data = seed
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let operation = Int.random(in: 0..<4, using: &random)
            let position = Int.random(in: 0...data.count, using: &random)
            let inserted = bytes(Int.random(in: 1...8, using: &random), &random)
            switch operation {
            case 0 where position < data.count: data[position] = inserted[0]
            case 1: data.insert(contentsOf: inserted, at: position)
            case 2 where position < data.count: data.remove(at: position)
            case 3: data = Array(data.prefix(position))
            default: break
            }
        }
        return data
    }

    @Test func senderAddressesAreValidOrRefused() {
        var random = Generator(state: 1)
        let seeds = ["+5214771234567", "5214771234567:12@s.whatsapp.net", "123456789@lid", "+52 (477) 123-4567"]
        for index in 0..<Self.iterations * 10 {
            let input =
                index.isMultiple(of: 2)
                ? Self.mutate(Array(seeds[index % seeds.count].utf8), &random)
                : Self.bytes(Int.random(in: 0...40, using: &random), &random)
            let text = String(decoding: input, as: UTF8.self)
            guard let address = try? SenderAddress(text) else { continue }
            #expect(!address.address.isEmpty, "\(Array(text.unicodeScalars))")
            #expect(!address.value.isEmpty && address.value.allSatisfy(\.isASCIIDigit))
            #expect(address.display.count > 1)
        }
        // Found by the fuzzer: nothing before the device suffix left an empty reply address.
        #expect(throws: SenderAddress.Problem.self) { try SenderAddress(":5214771234567") }
        #expect(throws: SenderAddress.Problem.self) { try SenderAddress(" :5214771234567@s.whatsapp.net") }
    }

    @Test func multipartBodiesParseOrAreA400() {
        var random = Generator(state: 2)
        let valid = Array(
            ("--B\r\nContent-Disposition: form-data; name=\"remitente\"\r\n\r\n5215550001111\r\n"
                + "--B\r\nContent-Disposition: form-data; name=\"imagen\"; filename=\"a.jpg\"\r\n"
                + "Content-Type: image/jpeg\r\n\r\n\u{FF}\u{D8}data\r\n--B--\r\n").utf8)
        let contentTypes = [
            "multipart/form-data; boundary=B", "multipart/form-data; boundary=\"B\"", "multipart/form-data",
            "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
        ]
        for index in 0..<Self.iterations * 5 {
            let body = Self.mutate(valid, &random)
            var contentType = contentTypes[index % contentTypes.count]
            if index.isMultiple(of: 7) {
                contentType = String(decoding: Self.mutate(Array(contentType.utf8), &random), as: UTF8.self)
            }
            do {
                let form = try MultipartForm(body: ByteBuffer(bytes: body), contentType: contentType)
                if let file = form.file {
                    #expect(!file.bytes.isEmpty)
                    #expect(file.filename.map { !$0.contains("/") && !$0.contains("\r") } ?? true)
                }
            } catch let error as APIError {
                #expect(error.status == .badRequest, "\(error)")
            } catch {
                Issue.record("not an APIError: \(error) for \(contentType)")
            }
        }
    }

    @Test func aNonASCIIHeaderNameIsA400NotATrap() {
        // Found by this suite: MultipartKit traps on a header-name byte >= 0x80.
        var body = ByteBuffer(string: "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n")
        body.writeBytes([0xC3, 0xA9, 0x3A, 0x20, 0x78, 0x0D, 0x0A, 0x0D, 0x0A, 0x78])
        body.writeString("\r\n--B--\r\n")
        #expect(throws: APIError.self) { try MultipartForm(body: body, contentType: "multipart/form-data; boundary=B") }
    }

    @Test func signatureHeadersNeverCrash() {
        var random = Generator(state: 3)
        let signer = WebhookSignature(key: "k")
        let seed = Array(signer.header(for: Array("x".utf8), timestamp: 1_700_000_000).utf8)
        var accepted = 0
        for _ in 0..<Self.iterations * 10 {
            let header = String(decoding: Self.mutate(seed, &random), as: UTF8.self)
            if (try? signer.verify(header, body: Array("x".utf8), now: Date(timeIntervalSince1970: 1_700_000_000)))
                != nil
            {
                accepted += 1
            }
        }
        // A random edit almost never keeps the signature valid (only edits outside `t` and `v1` do).
        #expect(accepted < Self.iterations * 5)
    }

    @Test func webhookJSONIsStoredOrRefusedWithA4xx() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            var random = Generator(state: 4)
            let seeds = [
                #"{"remitente":"5214771234567@s.whatsapp.net","contenido":"hola","id_mensaje":12,"timestamp":1770282000}"#,
                #"{"remitente":"+5214771234567","contenido":"x","timestamp":"2026-02-05T10:30:00","nombre":"Ana"}"#,
                #"{"remitente":"123456789@lid","tipo":"imagen","imagen_base64":"/9j/AAAA","caption":"c"}"#,
            ]
            var statuses: [Int: Int] = [:]
            for index in 0..<Self.iterations {
                let body = Self.mutate(Array(seeds[index % seeds.count].utf8), &random)
                let reply = try await api.call(
                    .post, "/webhook", authorization: "Bearer \(APITestSystem.webhookToken)", body: Data(body))
                statuses[reply.status, default: 0] += 1
                #expect(
                    [200, 400, 413, 415].contains(reply.status),
                    "\(reply.status) \(reply.text) for \(String(decoding: body, as: UTF8.self))")
            }
            // Most mutations still decode: the property is exercised on stored messages, not only on refusals.
            #expect(statuses[200, default: 0] > 0)
            let conversation = try await api.call(.get, "/tickets", authorization: api.admin())
            #expect(conversation.status == 200)
        }
    }
}
