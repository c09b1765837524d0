import Foundation

/// One libFuzzer input: the first byte picks the parser, the rest is its outside input. Each parser may refuse
/// the input; none may crash, and what they accept must keep its invariants.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let rest = Data(bytes.dropFirst())
    let text = String(decoding: rest, as: UTF8.self)
    switch bytes[0] % 4 {
    case 0:
        if let address = try? SenderAddress(text) {
            precondition(!address.value.isEmpty && address.value.allSatisfy(\.isASCIIDigit))
            precondition(!address.display.isEmpty)
        }
    case 1:
        if let name = HeaderParameters.filename(in: text) {
            precondition(!name.isEmpty && name.count <= 255)
            precondition(!name.contains("/") && !name.contains("\\") && !name.contains("\""))
            precondition(!name.unicodeScalars.contains { CharacterSet.controlCharacters.contains($0) })
        }
        _ = HeaderParameters.parameter("boundary", in: text)
        _ = HeaderParameters.decodeExtended(text)
    case 2:
        if let payload = try? JSONDecoder().decode(SeedBridgePayload.self, from: rest),
            let date = payload.timestamp?.date
        {
            precondition(FlexibleTimestamp.plausible.contains(date))
        }
    default:
        if let date = FlexibleTimestamp(text: text).date {
            precondition(FlexibleTimestamp.plausible.contains(date))
        }
    }
    return 0
}
