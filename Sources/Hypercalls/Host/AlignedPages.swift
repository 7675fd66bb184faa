import Glibc

/// Anonymous, zero-filled pages at an address aligned to any power of two:
/// over-map by the alignment, then unmap the slack at both ends, so the
/// result is one ordinary mapping that munmap(p, size) releases.
public enum AlignedPages {
    public static func map(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let slack = alignment > page ? alignment : 0
        guard let raw = mmap(nil, size + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            raw != MAP_FAILED
        else { return nil }
        let base = UInt(bitPattern: raw)
        let aligned = slack == 0 ? base : (base + UInt(alignment) - 1) & ~(UInt(alignment) - 1)
        if aligned > base { munmap(raw, Int(aligned - base)) }
        let end = base + UInt(size + slack), used = aligned + UInt(size)
        if end > used { munmap(UnsafeMutableRawPointer(bitPattern: used), Int(end - used)) }
        return UnsafeMutableRawPointer(bitPattern: aligned)
    }
}
