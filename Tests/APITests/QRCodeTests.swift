import Foundation
import Testing

@testable import MostradorAPI

/// Our QR encoder against symbols from an independent encoder (python-qrcode, same version, level and mask),
/// the version each length needs, and the limit.
@Suite struct QRCodeTests {
    /// python-qrcode's `HELLO` at version 1, level M, mask 3.
    static let hello = [
        "#######.#..#..#######",
        "#.....#.####..#.....#",
        "#.###.#...#.#.#.###.#",
        "#.###.#.#.#.#.#.###.#",
        "#.###.#....#..#.###.#",
        "#.....#....##.#.....#",
        "#######.#.#.#.#######",
        "........#..##........",
        "#.##.###.#.##.#..#.##",
        ".##.##.#.######..##..",
        "#...#.#..#.#.......##",
        "#.##...#...#..####.#.",
        ".#.######...#..#..#.#",
        "........####..#...#.#",
        "#######.#..##..#.....",
        "#.....#.#.#....#####.",
        "#.###.#.....######.##",
        "#.###.#.#.##..#.####.",
        "#.###.#.##..#.##..#..",
        "#.....#...#..#.##...#",
        "#######.#.#..#.#.....",
    ]
    /// python-qrcode's `Señal débil — ¿qué pasó?` at version 3, level M, mask 4.
    static let accents = [
        "#######.#.##.##.#.##..#######",
        "#.....#....#####.##...#.....#",
        "#.###.#..##...#...#.#.#.###.#",
        "#.###.#.##..#.......#.#.###.#",
        "#.###.#.#........##...#.###.#",
        "#.....#.#.##....#.##..#.....#",
        "#######.#.#.#.#.#.#.#.#######",
        "........#..#.#.####..........",
        "#...#.###.#.##...###.#####..#",
        ".....#.#.###.##.#.#...#######",
        "#.##..#.#.##....##..#....#.#.",
        ".##.##.##.#...#..#.#######...",
        "#.#...#..##.######.......#...",
        "######....###.......#.#####..",
        "...#.#######.###.#.#.#####...",
        "#......##..#.#.###.#.###.#..#",
        "..##.##..#####...#.####..#.#.",
        "##.#.#..#..####.#.##..###...#",
        "....###.##.#....##.#.##.....#",
        "...#...##.##..#..##..#.##....",
        "###.#.##.#.#.###.#.#######...",
        "........####.......##...####.",
        "#######.#.#..###...##.#.#...#",
        "#.....#..#.#.#....#.#...##...",
        "#.###.#.##.###.##..#######.##",
        "#.###.#..#...###..###.#...##.",
        "#.###.#....##.##...#.####..##",
        "#.....#..#...##.#.##.##.#####",
        "#######.##.##...####....####.",
    ]

    static func picture(_ code: QRCode) -> [String] {
        code.modules.map { row in String(row.map { $0 ? "#" : "." }) }
    }

    @Test func symbolsMatchAnIndependentEncoderModuleForModule() throws {
        let hello = try QRCode("HELLO")
        #expect(hello.version == 1)
        #expect(hello.mask == 3)
        #expect(Self.picture(hello) == Self.hello)
        let accents = try QRCode("Señal débil — ¿qué pasó?")
        #expect(accents.version == 3)
        #expect(accents.mask == 4)
        #expect(Self.picture(accents) == Self.accents)
    }

    @Test func theSmallestVersionThatFitsIsChosen() throws {
        // Byte capacity at level M: version 1 holds 14 bytes, 2 holds 26, … 10 holds 213.
        for (length, version) in [(1, 1), (14, 1), (15, 2), (26, 2), (27, 3), (62, 4), (63, 5), (213, 10)] {
            let code = try QRCode(String(repeating: "a", count: length))
            #expect(code.version == version, "\(length) bytes")
            #expect(code.modules.count == 17 + 4 * version)
            #expect(code.modules.allSatisfy { $0.count == code.modules.count })
        }
        #expect(throws: QRCode.TooLong.self) { try QRCode(String(repeating: "a", count: 214)) }
        let uri = TOTP.generate().uri(account: "tecnico1", issuer: "Mostrador")
        // An enrolment URI (about 125 bytes) is a version 8 symbol, 49 modules across: easy for any phone.
        #expect(try QRCode(uri).version <= 8)
    }

    @Test func theSVGDrawsTheModulesAndNothingOfTheText() throws {
        let text = "otpauth://totp/Mostrador:ana?secret=JBSWY3DPEHPK3PXP"
        let svg = try QRCode(text).svg(scale: 4)
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("crispEdges"))
        #expect(!svg.contains("JBSWY3DPEHPK3PXP"))
        #expect(!svg.contains("Mostrador"))
    }
}
