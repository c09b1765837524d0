/// A QR code (ISO/IEC 18004) for short texts such as an `otpauth://` URI: byte mode, error correction level M,
/// the smallest version (1...10) that fits, mask chosen by the standard's penalty rules.
///
/// The text is encoded as its UTF-8 bytes in one byte-mode segment (no ECI header: readers take byte mode as UTF-8
/// in practice, and an `otpauth://` URI is ASCII). Version 10-M holds 213 bytes, ample for a TOTP enrolment URI.
/// Pure computation, no I/O: the api draws it as SVG so a secret never leaves the server in a third-party request.
struct QRCode: Sendable, Equatable {
    /// modules[y][x], true = dark. Size = 17 + 4 * version.
    let modules: [[Bool]]
    let version: Int
    /// The mask pattern (0...7) that scored the lowest penalty.
    let mask: Int

    /// The text's UTF-8 bytes do not fit version 10 at level M (more than 213 bytes).
    struct TooLong: Error, CustomStringConvertible {
        var description: String { "text too long for a QR code of version 10-M (213 bytes at most)" }
    }

    /// The largest version built: its byte capacity at level M bounds what `init` accepts.
    static let maximumVersion = 10

    /// Encodes `text`; throws `TooLong` when its UTF-8 form exceeds version 10-M.
    init(_ text: String) throws(TooLong) {
        let bytes = Array(text.utf8)
        guard let version = (1...Self.maximumVersion).first(where: { bytes.count <= Self.byteCapacity(version: $0) })
        else { throw TooLong() }
        let codewords = Self.withErrorCorrection(Self.dataCodewords(bytes, version: version), version: version)

        var symbol = Symbol(version: version)
        symbol.drawFunctionPatterns()
        symbol.placeCodewords(codewords)

        // Every mask is tried on the complete symbol (format bits included) and the lowest penalty wins; ties go to
        // the lower mask number.
        var best: (symbol: Symbol, mask: Int, penalty: Int)?
        for mask in 0..<8 {
            var candidate = symbol
            candidate.applyMask(mask)
            candidate.drawFormatBits(mask: mask)
            let penalty = candidate.penalty()
            if best.map({ penalty < $0.penalty }) ?? true { best = (candidate, mask, penalty) }
        }
        let chosen = best ?? (symbol, 0, 0)
        modules = chosen.symbol.dark
        self.version = version
        mask = chosen.mask
    }

    /// Modules per side, without the quiet zone.
    var size: Int { modules.count }

    /// An SVG image (one <path> of dark squares, a white background, a 4-module quiet zone,
    /// `shape-rendering="crispEdges"`), `scale` pixels per module (clamped to 1...100); no text from the input
    /// appears in the SVG.
    func svg(scale: Int = 4) -> String {
        let quietZone = 4
        let side = size + 2 * quietZone
        let pixels = side * min(max(scale, 1), 100)
        // Drawn in module units and scaled by the viewBox; runs of dark modules in a row become one rectangle.
        var path = ""
        for (y, row) in modules.enumerated() {
            var x = 0
            while x < row.count {
                guard row[x] else {
                    x += 1
                    continue
                }
                let start = x
                while x < row.count, row[x] { x += 1 }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(pixels)" height="\(pixels)" \
            viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges">\
            <rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }
}

// MARK: - Capacity and block structure

extension QRCode {
    /// How one version's codewords split into Reed–Solomon blocks at level M (ISO/IEC 18004 table 9).
    struct BlockLayout: Sendable {
        /// Error correction codewords in every block.
        let eccPerBlock: Int
        /// Groups of blocks: (number of blocks, data codewords in each). The second group's blocks hold one more.
        let groups: [(blocks: Int, dataCodewords: Int)]

        var dataCodewords: Int { groups.reduce(0) { $0 + $1.blocks * $1.dataCodewords } }
        var blockCount: Int { groups.reduce(0) { $0 + $1.blocks } }
        var totalCodewords: Int { dataCodewords + blockCount * eccPerBlock }
    }

    /// Level M, versions 1...10, indexed by version - 1.
    static let layouts: [BlockLayout] = [
        BlockLayout(eccPerBlock: 10, groups: [(1, 16)]),
        BlockLayout(eccPerBlock: 16, groups: [(1, 28)]),
        BlockLayout(eccPerBlock: 26, groups: [(1, 44)]),
        BlockLayout(eccPerBlock: 18, groups: [(2, 32)]),
        BlockLayout(eccPerBlock: 24, groups: [(2, 43)]),
        BlockLayout(eccPerBlock: 16, groups: [(4, 27)]),
        BlockLayout(eccPerBlock: 18, groups: [(4, 31)]),
        BlockLayout(eccPerBlock: 22, groups: [(2, 38), (2, 39)]),
        BlockLayout(eccPerBlock: 22, groups: [(3, 36), (2, 37)]),
        BlockLayout(eccPerBlock: 26, groups: [(4, 43), (1, 44)]),
    ]

    /// Centre coordinates of the alignment patterns (rows and columns alike), indexed by version - 1.
    static let alignmentCentres: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
    ]

    static func layout(version: Int) -> BlockLayout { layouts[version - 1] }

    /// Bits of the byte-mode character count: 8 up to version 9, 16 from version 10.
    static func countBits(version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// Bytes that fit one byte-mode segment: the data bits less the 4-bit mode and the count indicator.
    static func byteCapacity(version: Int) -> Int {
        (layout(version: version).dataCodewords * 8 - 4 - countBits(version: version)) / 8
    }
}

// MARK: - Data codewords

extension QRCode {
    /// The data codewords: mode indicator 0100, count, the bytes, a terminator of up to four zero bits, zero bits to
    /// the byte boundary, then the pad bytes 0xEC and 0x11 in turn up to the version's capacity.
    static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        let capacity = layout(version: version).dataCodewords
        var bits = BitBuffer()
        bits.append(0b0100, count: 4)
        bits.append(bytes.count, count: countBits(version: version))
        for byte in bytes { bits.append(Int(byte), count: 8) }
        bits.append(0, count: min(4, capacity * 8 - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)

        var codewords = bits.bytes
        var pad: UInt8 = 0xEC
        while codewords.count < capacity {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    /// A sequence of bits, most significant first, packed into bytes at the end.
    struct BitBuffer {
        private(set) var bits: [Bool] = []

        var count: Int { bits.count }

        /// Appends the low `count` bits of `value`, high bit first.
        mutating func append(_ value: Int, count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }

        /// The bits as bytes (a last partial byte is padded with zeros).
        var bytes: [UInt8] {
            stride(from: 0, to: bits.count, by: 8).map { start in
                bits[start..<min(start + 8, bits.count)].enumerated().reduce(UInt8(0)) { byte, bit in
                    bit.element ? byte | (0x80 >> UInt8(bit.offset)) : byte
                }
            }
        }
    }
}

// MARK: - Reed–Solomon error correction

extension QRCode {
    /// The final codeword sequence: data split into blocks, each block's error correction computed, then the data
    /// codewords interleaved block by block (column-wise), followed by the error correction codewords interleaved
    /// the same way.
    static func withErrorCorrection(_ data: [UInt8], version: Int) -> [UInt8] {
        let layout = layout(version: version)
        var blocks: [ArraySlice<UInt8>] = []
        var start = 0
        for group in layout.groups {
            for _ in 0..<group.blocks {
                let end = min(start + group.dataCodewords, data.count)
                blocks.append(data[start..<end])
                start = end
            }
        }
        let generator = ReedSolomon.generator(degree: layout.eccPerBlock)
        let eccBlocks = blocks.map { ReedSolomon.remainder(of: $0, generator: generator) }

        var result: [UInt8] = []
        result.reserveCapacity(layout.totalCodewords)
        let longest = blocks.map(\.count).max() ?? 0
        for index in 0..<longest {
            for block in blocks where index < block.count { result.append(block[block.startIndex + index]) }
        }
        for index in 0..<layout.eccPerBlock {
            for ecc in eccBlocks { result.append(ecc[index]) }
        }
        return result
    }

    /// Arithmetic in GF(256) with the QR code's field polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D) and α = 2.
    enum ReedSolomon {
        /// αⁱ for i in 0..<255.
        static let exponents: [UInt8] = {
            var table = [UInt8](repeating: 0, count: 255)
            var value = 1
            for index in 0..<255 {
                table[index] = UInt8(value)
                value <<= 1
                if value & 0x100 != 0 { value ^= 0x11D }
            }
            return table
        }()

        /// log_α(v) for v in 1...255 (index 0 is unused).
        static let logarithms: [Int] = {
            var table = [Int](repeating: 0, count: 256)
            for (power, value) in exponents.enumerated() { table[Int(value)] = power }
            return table
        }()

        static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
            guard a != 0, b != 0 else { return 0 }
            return exponents[(logarithms[Int(a)] + logarithms[Int(b)]) % 255]
        }

        /// The generator polynomial (x - α⁰)(x - α¹)…(x - α^(degree-1)), coefficients from the highest power down
        /// (the leading 1 included).
        static func generator(degree: Int) -> [UInt8] {
            var polynomial: [UInt8] = [1]
            for power in 0..<degree {
                let root = exponents[power % 255]
                var product = polynomial + [0]
                for (index, coefficient) in polynomial.enumerated() {
                    product[index + 1] ^= multiply(coefficient, root)
                }
                polynomial = product
            }
            return polynomial
        }

        /// The remainder of data(x)·x^degree divided by the generator: the block's error correction codewords.
        static func remainder(of data: ArraySlice<UInt8>, generator: [UInt8]) -> [UInt8] {
            let degree = generator.count - 1
            var remainder = [UInt8](repeating: 0, count: degree)
            guard degree > 0 else { return remainder }
            for byte in data {
                let factor = byte ^ remainder[0]
                remainder.removeFirst()
                remainder.append(0)
                for index in 0..<degree { remainder[index] ^= multiply(generator[index + 1], factor) }
            }
            return remainder
        }
    }
}

// MARK: - The module grid

extension QRCode {
    /// A symbol being built: its modules and which belong to function patterns (never masked, never data).
    struct Symbol: Sendable {
        let version: Int
        let size: Int
        var dark: [[Bool]]
        var isFunction: [[Bool]]

        init(version: Int) {
            self.version = version
            size = 17 + 4 * version
            dark = Array(repeating: Array(repeating: false, count: size), count: size)
            isFunction = dark
        }

        /// Sets a function module (x = column, y = row).
        mutating func setFunction(x: Int, y: Int, dark isDark: Bool) {
            dark[y][x] = isDark
            isFunction[y][x] = true
        }

        /// Timing patterns, the three finders with their separators, the alignment patterns, the dark module,
        /// the version information (7+) and a reservation of the format information areas.
        mutating func drawFunctionPatterns() {
            for index in 0..<size {
                setFunction(x: 6, y: index, dark: index % 2 == 0)
                setFunction(x: index, y: 6, dark: index % 2 == 0)
            }
            drawFinder(centreX: 3, centreY: 3)
            drawFinder(centreX: size - 4, centreY: 3)
            drawFinder(centreX: 3, centreY: size - 4)

            let centres = QRCode.alignmentCentres[version - 1]
            for (i, centreY) in centres.enumerated() {
                for (j, centreX) in centres.enumerated() {
                    // The three corners taken by finders.
                    let last = centres.count - 1
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                    drawAlignment(centreX: centreX, centreY: centreY)
                }
            }
            drawFormatBits(mask: 0)
            drawVersionBits()
        }

        /// A 7×7 finder (dark ring, light ring, dark 3×3 core) and its one-module light separator, clipped to the grid.
        mutating func drawFinder(centreX: Int, centreY: Int) {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = centreX + dx
                    let y = centreY + dy
                    guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                    let ring = max(abs(dx), abs(dy))
                    setFunction(x: x, y: y, dark: ring != 2 && ring != 4)
                }
            }
        }

        /// A 5×5 alignment pattern: dark ring, light ring, dark centre.
        mutating func drawAlignment(centreX: Int, centreY: Int) {
            for dy in -2...2 {
                for dx in -2...2 {
                    setFunction(x: centreX + dx, y: centreY + dy, dark: max(abs(dx), abs(dy)) != 1)
                }
            }
        }

        /// The 15 format bits, twice: level M (00) and the mask, a BCH(15,5) code with generator 0x537, XORed with
        /// 0x5412; plus the dark module at (8, size - 8).
        mutating func drawFormatBits(mask: Int) {
            let levelM = 0b00
            let data = levelM << 3 | mask
            let bits = (data << 10 | QRCode.bchRemainder(data, generator: 0x537, degree: 10)) ^ 0x5412
            func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }

            // Around the top-left finder: down column 8, then leftwards along row 8 (skipping the timing pattern).
            for index in 0...5 { setFunction(x: 8, y: index, dark: bit(index)) }
            setFunction(x: 8, y: 7, dark: bit(6))
            setFunction(x: 8, y: 8, dark: bit(7))
            setFunction(x: 7, y: 8, dark: bit(8))
            for index in 9..<15 { setFunction(x: 14 - index, y: 8, dark: bit(index)) }

            // The copy split between the top-right (row 8) and bottom-left (column 8) finders.
            for index in 0..<8 { setFunction(x: size - 1 - index, y: 8, dark: bit(index)) }
            for index in 8..<15 { setFunction(x: 8, y: size - 15 + index, dark: bit(index)) }
            setFunction(x: 8, y: size - 8, dark: true)
        }

        /// For versions 7 and up, the 18 version bits (6 data bits, BCH(18,6) with generator 0x1F25) in the 6×3
        /// blocks beside the top-right and bottom-left finders.
        mutating func drawVersionBits() {
            guard version >= 7 else { return }
            let bits = version << 12 | QRCode.bchRemainder(version, generator: 0x1F25, degree: 12)
            for index in 0..<18 {
                let isDark = (bits >> index) & 1 == 1
                let a = size - 11 + index % 3
                let b = index / 3
                setFunction(x: a, y: b, dark: isDark)
                setFunction(x: b, y: a, dark: isDark)
            }
        }

        /// Places the codewords' bits, most significant first, in two-module columns from the bottom-right corner,
        /// upwards then downwards in turn, right module before left, skipping function modules and the vertical
        /// timing column. Modules left over (the remainder bits) stay light.
        mutating func placeCodewords(_ codewords: [UInt8]) {
            let totalBits = codewords.count * 8
            var bitIndex = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                let upward = (right + 1) & 2 == 0
                for step in 0..<size {
                    let y = upward ? size - 1 - step : step
                    for x in [right, right - 1] where !isFunction[y][x] && bitIndex < totalBits {
                        dark[y][x] = (codewords[bitIndex >> 3] >> (7 - UInt8(bitIndex & 7))) & 1 == 1
                        bitIndex += 1
                    }
                }
                right -= 2
            }
        }

        /// Inverts the data modules where mask pattern `mask` (0...7) holds (x = column j, y = row i).
        mutating func applyMask(_ mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !isFunction[y][x] && QRCode.maskHolds(mask, x: x, y: y) {
                    dark[y][x].toggle()
                }
            }
        }
    }

    /// The eight data mask conditions of ISO/IEC 18004 table 10.
    static func maskHolds(_ mask: Int, x: Int, y: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (x / 3 + y / 2) % 2 == 0
        case 5: x * y % 2 + x * y % 3 == 0
        case 6: (x * y % 2 + x * y % 3) % 2 == 0
        case 7: ((x + y) % 2 + x * y % 3) % 2 == 0
        default: false
        }
    }

    /// The remainder of value·x^degree divided by `generator` over GF(2): the check bits of a BCH code.
    static func bchRemainder(_ value: Int, generator: Int, degree: Int) -> Int {
        var remainder = value << degree
        for shift in stride(from: bitWidth(remainder) - 1, through: degree, by: -1) {
            if (remainder >> shift) & 1 == 1 { remainder ^= generator << (shift - degree) }
        }
        return remainder
    }

    private static func bitWidth(_ value: Int) -> Int { Int.bitWidth - value.leadingZeroBitCount }
}

// MARK: - Mask evaluation

extension QRCode.Symbol {
    /// The penalty score of ISO/IEC 18004 §7.8.3 (lower is better), over rows and columns alike:
    /// - N1: each run of five or more same-coloured modules scores 3, plus 1 per module beyond five;
    /// - N2: each 2×2 block of one colour scores 3 (overlapping blocks counted separately);
    /// - N3: each dark-light-dark-dark-dark-light-dark (1:1:3:1:1) pattern with four light modules on either side
    ///   scores 40, the space outside the symbol counting as light;
    /// - N4: 10 for every full 5% by which the share of dark modules departs from 50%.
    func penalty() -> Int {
        var score = 0
        let columns = (0..<size).map { x in dark.map { $0[x] } }
        for line in dark + columns {
            score += Self.runPenalty(line) + Self.finderLikePenalty(line)
        }
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let colour = dark[y][x]
                if dark[y][x + 1] == colour, dark[y + 1][x] == colour, dark[y + 1][x + 1] == colour { score += 3 }
            }
        }
        let darkCount = dark.reduce(0) { $0 + $1.filter { $0 }.count }
        let total = size * size
        // k = floor(|dark/total - 1/2| / 5%), in integers: |20·dark - 10·total| / total.
        score += 10 * (abs(20 * darkCount - 10 * total) / total)
        return score
    }

    /// N1 for one row or column.
    static func runPenalty(_ line: [Bool]) -> Int {
        var score = 0
        var runLength = 0
        for (index, module) in line.enumerated() {
            runLength = index > 0 && line[index - 1] == module ? runLength + 1 : 1
            let runEnds = index == line.count - 1 || line[index + 1] != module
            if runEnds, runLength >= 5 { score += 3 + runLength - 5 }
        }
        return score
    }

    /// N3 for one row or column.
    static func finderLikePenalty(_ line: [Bool]) -> Int {
        let pattern = [true, false, true, true, true, false, true]
        func isLight(_ range: Range<Int>) -> Bool {
            range.allSatisfy { !(line.indices.contains($0) && line[$0]) }
        }
        var score = 0
        for start in 0...(line.count - pattern.count) where Array(line[start..<start + pattern.count]) == pattern {
            let end = start + pattern.count
            if isLight(start - 4..<start) || isLight(end..<end + 4) { score += 40 }
        }
        return score
    }
}
