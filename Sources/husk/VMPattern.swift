import ArgumentParser
import Glibc
import HuskSys

/// The test patterns of the VM scenarios: every 8-byte little-endian word at
/// byte offset o holds `o ^ nonce` (pattern 1, written by the host) or
/// `o ^ ~nonce` (pattern 2, written by the guest through the block server).
enum DiskPattern {
    static func word(_ offset: UInt64, nonce: UInt64, second: Bool) -> UInt64 {
        offset ^ (second ? ~nonce : nonce)
    }

    static func fill(_ buf: UnsafeMutableRawPointer, length: Int, at offset: UInt64, nonce: UInt64, second: Bool) {
        let key = second ? ~nonce : nonce
        let words = buf.bindMemory(to: UInt64.self, capacity: length / 8)
        for i in 0..<(length / 8) { words[i] = (offset + UInt64(i * 8) ^ key).littleEndian }
    }

    /// Mismatching words in the buffer; `first` gets the first one's details.
    static func verify(_ buf: UnsafeRawPointer, length: Int, at offset: UInt64, nonce: UInt64, second: Bool,
                       first: inout String?) -> Int {
        let key = second ? ~nonce : nonce
        let words = buf.bindMemory(to: UInt64.self, capacity: length / 8)
        var bad = 0
        for i in 0..<(length / 8) {
            let o = offset + UInt64(i * 8)
            let got = UInt64(littleEndian: words[i])
            if got != o ^ key {
                if first == nil {
                    let wasOther = got == o ^ (second ? nonce : ~nonce)
                    first = "first at offset \(o): got 0x\(String(got, radix: 16)), expected 0x\(String(o ^ key, radix: 16))" +
                        (wasOther ? " (still pattern \(second ? 1 : 2))" : "")
                }
                bad += 1
            }
        }
        return bad
    }

    static func parseNonce(_ s: String) -> UInt64? {
        UInt64(s.hasPrefix("0x") ? String(s.dropFirst(2)) : s, radix: 16)
    }
}

/// A page-aligned buffer (O_DIRECT).
final class AlignedBuffer {
    let pointer: UnsafeMutableRawPointer
    let size: Int
    init(_ size: Int) {
        var p: UnsafeMutableRawPointer?
        precondition(posix_memalign(&p, 4096, size) == 0)
        pointer = p!
        self.size = size
    }
    deinit { free(pointer) }
}

/// Reads `bytes` of `path` and counts words that differ from the pattern.
/// Returns nil and an error text on I/O failure.
func verifyFilePattern(path: String, bytes: UInt64, nonce: UInt64, second: Bool, direct: Bool) -> (bad: Int, detail: String) {
    let fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? husk_o_direct() : 0))
    guard fd >= 0 else { return (-1, "open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let size = lseek(fd, 0, SEEK_END)
    guard size >= 0, UInt64(size) >= bytes else { return (-1, "\(path) has \(size) bytes, expected at least \(bytes)") }
    let buf = AlignedBuffer(1 << 20)
    var off: UInt64 = 0
    var bad = 0
    var first: String?
    while off < bytes {
        let n = Int(min(UInt64(buf.size), bytes - off))
        let r = pread(fd, buf.pointer, n, off_t(off))
        guard r == n else { return (-1, "pread \(path) at \(off): \(r < 0 ? String(cString: strerror(errno)) : "short read \(r)")") }
        bad += DiskPattern.verify(buf.pointer, length: n, at: off, nonce: nonce, second: second, first: &first)
        off += UInt64(n)
    }
    return (bad, bad == 0 ? "\(bytes) bytes match pattern \(second ? 2 : 1)" : "\(bad) words differ from pattern \(second ? 2 : 1); \(first ?? "")")
}

/// `husk vm pattern`: fill a disk image with pattern 1 / verify pattern 1 or 2.
struct VMPattern: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pattern",
        abstract: "Fill a disk image with the VM test pattern 1, or verify pattern 1 or 2.",
        discussion: "Pattern 1: the 8-byte little-endian word at byte offset o is o ^ nonce; pattern 2: o ^ ~nonce.")
    @Option(help: "Image file (created for a fill).") var file: String
    @Option(help: "Bytes (a multiple of 1 MiB for a fill, of 8 for a verify).") var bytes: UInt64
    @Option(help: "Nonce, hex u64.") var nonce: String
    @Flag(help: "Verify pattern 2 instead of filling.") var verifySecond = false
    @Flag(help: "Verify pattern 1 instead of filling.") var verifyFirst = false

    func validate() throws {
        guard DiskPattern.parseNonce(nonce) != nil else { throw ValidationError("--nonce must be a hex u64") }
        guard bytes > 0, bytes % 8 == 0 else { throw ValidationError("--bytes must be a positive multiple of 8") }
        guard !(verifyFirst && verifySecond) else { throw ValidationError("--verify-first or --verify-second, not both") }
    }

    func run() throws {
        let key = DiskPattern.parseNonce(nonce)!
        if verifyFirst || verifySecond {
            let r = verifyFilePattern(path: file, bytes: bytes, nonce: key, second: verifySecond, direct: false)
            print("pattern \(r.bad == 0 ? "OK" : "MISMATCH"): \(file): \(r.detail)")
            if r.bad != 0 { throw ExitCode(1) }
            return
        }
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { printError("husk vm pattern: \(file): \(String(cString: strerror(errno)))"); throw ExitCode(1) }
        defer { close(fd) }
        let buf = AlignedBuffer(1 << 20)
        var off: UInt64 = 0
        while off < bytes {
            let n = Int(min(UInt64(buf.size), bytes - off))
            DiskPattern.fill(buf.pointer, length: n, at: off, nonce: key, second: false)
            guard pwrite(fd, buf.pointer, n, off_t(off)) == n else {
                printError("husk vm pattern: writing \(file): \(String(cString: strerror(errno)))"); throw ExitCode(1)
            }
            off += UInt64(n)
        }
        fsync(fd)
        print("pattern 1 written: \(file), \(bytes) bytes, nonce 0x\(String(key, radix: 16))")
    }
}
