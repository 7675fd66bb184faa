import Glibc
import PlatformC

/// The disk test pattern: every 8-byte little-endian word at byte offset o
/// holds `o ^ key`, so a block read from the wrong place, or left over from
/// another run (another key), never matches. The VM scenarios use key =
/// nonce for pattern 1 (written by the host) and ~nonce for pattern 2
/// (written by the guest through the block server); the block demo and the
/// block server's tests use it with keys of their own.
public enum DiskPattern {
    /// The key of pattern 1 (`second` false) or pattern 2 of a run.
    public static func key(nonce: UInt64, second: Bool) -> UInt64 { second ? ~nonce : nonce }

    /// Fill `length` bytes (a multiple of 8) that sit at byte `offset` of the disk.
    public static func fill(_ buf: UnsafeMutableRawPointer, length: Int, at offset: UInt64, key: UInt64) {
        for i in stride(from: 0, to: length - length % 8, by: 8) {
            buf.storeBytes(of: ((offset + UInt64(i)) ^ key).littleEndian, toByteOffset: i, as: UInt64.self)
        }
    }

    /// `length` bytes of the pattern as they sit at byte `offset`.
    public static func bytes(_ length: Int, at offset: UInt64, key: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        out.withUnsafeMutableBytes { fill($0.baseAddress!, length: length, at: offset, key: key) }
        return out
    }

    /// Count the words of `buf` (sitting at byte `offset`) that differ from
    /// pattern 1 or 2 of `nonce`; `first` gets the first one's offset and a
    /// description (which says when it still holds the other pattern).
    public static func verify(
        _ buf: UnsafeRawPointer, length: Int, at offset: UInt64, nonce: UInt64, second: Bool,
        first: inout (offset: UInt64, detail: String)?
    ) -> Int {
        let key = key(nonce: nonce, second: second)
        var bad = 0
        for i in stride(from: 0, to: length - length % 8, by: 8) {
            let o = offset + UInt64(i)
            let got = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            guard got != o ^ key else { continue }
            if first == nil {
                let wasOther = got == o ^ Self.key(nonce: nonce, second: !second)
                first = (
                    o,
                    "first at offset \(o): got 0x\(String(got, radix: 16)), expected 0x\(String(o ^ key, radix: 16))"
                        + (wasOther ? " (still pattern \(second ? 1 : 2))" : "")
                )
            }
            bad += 1
        }
        return bad
    }

    /// A nonce written in hex, with or without 0x.
    public static func parseNonce(_ s: String) -> UInt64? {
        UInt64(s.hasPrefix("0x") ? String(s.dropFirst(2)) : s, radix: 16)
    }
}

/// A page-aligned buffer (what O_DIRECT needs).
public final class AlignedBuffer {
    public let pointer: UnsafeMutableRawPointer
    public let size: Int
    public init(_ size: Int) {
        var p: UnsafeMutableRawPointer?
        precondition(posix_memalign(&p, 4096, size) == 0, "posix_memalign(\(size))")
        pointer = p!
        self.size = size
    }
    deinit { free(pointer) }
}

public struct PatternFileError: Error, CustomStringConvertible {
    public let description: String
}

/// Create `path` holding `bytes` of pattern 1 of `nonce`, synced to disk.
public func writePatternFile(path: String, bytes: UInt64, nonce: UInt64) throws(PatternFileError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw PatternFileError(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let buf = AlignedBuffer(1 << 20)
    var off: UInt64 = 0
    while off < bytes {
        let n = Int(min(UInt64(buf.size), bytes - off))
        DiskPattern.fill(buf.pointer, length: n, at: off, key: nonce)
        guard pwrite(fd, buf.pointer, n, off_t(off)) == n else {
            throw PatternFileError(description: "writing \(path): \(String(cString: strerror(errno)))")
        }
        off += UInt64(n)
    }
    guard fsync(fd) == 0 else { throw PatternFileError(description: "fsync \(path): \(String(cString: strerror(errno)))") }
}

/// The result of checking a file against the pattern.
public struct PatternCheck {
    /// Words that differ; -1 when the file could not be read.
    public let bad: Int
    /// Offset of the first differing word.
    public let firstBad: UInt64?
    public let detail: String
    public var matches: Bool { bad == 0 }
}

/// Read `bytes` of `path` (with O_DIRECT when `direct`) and compare them
/// with pattern 1 or 2 of `nonce`.
public func verifyPatternFile(path: String, bytes: UInt64, nonce: UInt64, second: Bool, direct: Bool) -> PatternCheck {
    func failed(_ why: String) -> PatternCheck { PatternCheck(bad: -1, firstBad: nil, detail: why) }
    let fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? husk_o_direct() : 0))
    guard fd >= 0 else { return failed("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let size = lseek(fd, 0, SEEK_END)
    guard size >= 0, UInt64(size) >= bytes else { return failed("\(path) has \(size) bytes, expected at least \(bytes)") }
    let buf = AlignedBuffer(1 << 20)
    var off: UInt64 = 0
    var bad = 0
    var first: (offset: UInt64, detail: String)?
    while off < bytes {
        let n = Int(min(UInt64(buf.size), bytes - off))
        let r = pread(fd, buf.pointer, n, off_t(off))
        guard r == n else { return failed("pread \(path) at \(off): \(r < 0 ? String(cString: strerror(errno)) : "short read \(r)")") }
        bad += DiskPattern.verify(buf.pointer, length: n, at: off, nonce: nonce, second: second, first: &first)
        off += UInt64(n)
    }
    let which = second ? 2 : 1
    return PatternCheck(
        bad: bad, firstBad: first?.offset,
        detail: bad == 0 ? "\(bytes) bytes match pattern \(which)" : "\(bad) words differ from pattern \(which); \(first?.detail ?? "")")
}
