/// Test data that differs per seed and per position (no short period, so
/// a block read from the wrong place does not match).
public func testPattern(_ seed: Int, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31) ^ (seed &* 7) ^ ($0 >> 9) ^ ($0 >> 17)) }
}

/// SplitMix64: a small deterministic generator for random test input that
/// reproduces from its seed.
public struct SplitMix {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
