// Shared with UIOBackend: keep Sources/{VFIO,UIO}Backend/Shared/ identical.

/// Hands out bus-address ranges from a set of usable ranges: I/O virtual
/// addresses for vfio, physical addresses of the pinned pool for uio.
/// First fit, granule-sized pieces, neighbours merged again on free.
/// Not thread-safe: the owner keeps it behind its lock.
public struct IOVAAllocator: Sendable {
    /// A range of bus addresses, both ends inclusive (so the top of the
    /// 64-bit space is representable).
    public struct Span: Equatable, Sendable, CustomStringConvertible {
        public var first: UInt64
        public var last: UInt64
        public var size: UInt64 { last - first + 1 }  // callers never build the full 2^64 span
        public var description: String { "0x\(String(first, radix: 16))-0x\(String(last, radix: 16))" }
        public init(first: UInt64, last: UInt64) {
            self.first = first
            self.last = last
        }
    }

    public let granule: UInt64
    public private(set) var free: [Span] = []  // sorted, disjoint; adjacent only at a boundary
    private var allocated: [UInt64: UInt64] = [:]  // base -> size
    private var boundaries: Set<UInt64> = []  // first addresses of the usable ranges

    /// `usable`: ranges the device may reach (any order, may overlap).
    /// Addresses below `reserveBelow` are never handed out (default one
    /// granule, so bus address 0 never is). `granule`: a power of two.
    public init(usable: [Span], granule: UInt64, reserveBelow: UInt64? = nil) {
        self.granule = granule
        let floor = reserveBelow ?? granule
        var spans: [Span] = []
        for var s in usable.sorted(by: { $0.first < $1.first }) {
            s.first = max(s.first, floor)
            guard let first = Self.alignUp(s.first, granule) else { continue }
            // Keep whole granules only.
            let lastPlusOne = s.last == .max ? UInt64.max & ~(granule - 1) : (s.last + 1) & ~(granule - 1)
            guard lastPlusOne > first else { continue }
            let span = Span(first: first, last: lastPlusOne - 1)
            // Overlapping ranges merge; merely adjacent ones stay apart, so
            // that no allocation straddles two of them (uio: two physically
            // adjacent runs need not be adjacent in the CPU's view).
            if let prev = spans.last, span.first <= prev.last {
                spans[spans.count - 1].last = max(prev.last, span.last)
            } else {
                spans.append(span)
            }
        }
        free = spans
        boundaries = Set(spans.map(\.first))
    }

    public var freeBytes: UInt64 { free.reduce(0) { $0 + $1.size } }
    public var allocationCount: Int { allocated.count }

    /// Lowest fitting base: aligned to `alignment` (a power of two; rounded
    /// up to the granule) with base + size <= limit (limit 0: none). The size
    /// is rounded up to the granule. nil when nothing fits.
    public mutating func allocate(size: UInt64, alignment: UInt64, limit: UInt64 = 0) -> UInt64? {
        guard size > 0, alignment == 0 || alignment & (alignment - 1) == 0,
            let length = Self.alignUp(size, granule)
        else { return nil }
        let align = max(alignment, granule)
        for (i, span) in free.enumerated() {
            guard let base = Self.alignUp(span.first, align), base <= span.last else { continue }
            let (end, overflow) = base.addingReportingOverflow(length - 1)  // last byte
            if overflow || end > span.last { continue }
            if limit != 0 && end >= limit { break }  // spans are sorted: later ones are higher
            var pieces: [Span] = []
            if base > span.first { pieces.append(Span(first: span.first, last: base - 1)) }
            if end < span.last { pieces.append(Span(first: end + 1, last: span.last)) }
            free.replaceSubrange(i...i, with: pieces)
            allocated[base] = length
            return base
        }
        return nil
    }

    /// Give back what allocate returned; the size it occupied, or nil for a
    /// base it did not hand out.
    @discardableResult
    public mutating func release(_ base: UInt64) -> UInt64? {
        guard let length = allocated.removeValue(forKey: base) else { return nil }
        var span = Span(first: base, last: base + length - 1)
        let i = free.firstIndex(where: { $0.first > base }) ?? free.endIndex
        var lo = i, hi = i
        if i > 0, free[i - 1].last &+ 1 == span.first, !boundaries.contains(span.first) {
            span.first = free[i - 1].first
            lo = i - 1
        }
        if i < free.count, span.last &+ 1 == free[i].first, !boundaries.contains(free[i].first) {
            span.last = free[i].last
            hi = i + 1
        }
        free.replaceSubrange(lo..<hi, with: [span])
        return length
    }

    public static func alignUp(_ v: UInt64, _ a: UInt64) -> UInt64? {
        let (s, o) = v.addingReportingOverflow(a - 1)
        return o ? nil : s & ~(a - 1)
    }
}
