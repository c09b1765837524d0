import ArgumentParser

// Double → integer conversions of outside or configured values (review R6): `Int64(seconds * 1000)` traps on
// `inf`, `nan` and `1e20`. These never trap.

extension Duration {
    /// `seconds` as a duration within `range` (in seconds): NaN becomes the lower bound, anything outside the range
    /// (±∞ included) the nearest bound. Millisecond precision.
    public static func clampedSeconds(_ seconds: Double, in range: ClosedRange<Double>) -> Duration {
        .milliseconds(Int64(saturating: seconds.clamped(to: range) * 1000))
    }
}

extension Double {
    /// The value within `range`; NaN becomes its lower bound.
    public func clamped(to range: ClosedRange<Double>) -> Double {
        guard !isNaN else { return range.lowerBound }
        return Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}

extension Int64 {
    /// `value` rounded to the nearest whole number, NaN as 0 and anything beyond `Int64` as its nearest bound.
    public init(saturating value: Double) {
        guard !value.isNaN else {
            self = 0
            return
        }
        // 2^63 is exactly representable; anything at or above it does not fit.
        if value >= 9_223_372_036_854_775_808.0 {
            self = .max
        } else if value < -9_223_372_036_854_775_808.0 {
            self = .min
        } else {
            self = Int64(value.rounded())
        }
    }
}

extension Int {
    /// `value` rounded to the nearest whole number, NaN as 0 and anything beyond `Int` as its nearest bound.
    public init(saturating value: Double) {
        self = Int(Int64(saturating: value))
    }
}

extension ServiceConfiguration {
    /// A number from `name` (`fallback` when unset) that must be finite and within `range`: anything else —
    /// `inf`, `nan`, `1e20`, `-5` for a positive setting — is a configuration error naming the variable.
    public func number(_ name: String, default fallback: Double, within range: ClosedRange<Double>) throws -> Double {
        guard let text = setting(name) else { return fallback }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ValidationError(
                "\(name) must be a number within \(range.lowerBound)…\(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// A duration in seconds from `name` (`fallback` seconds when unset), validated like `number`.
    public func seconds(_ name: String, default fallback: Double, within range: ClosedRange<Double>) throws -> Duration
    {
        .clampedSeconds(try number(name, default: fallback, within: range), in: range)
    }
}
