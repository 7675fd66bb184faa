import Glibc

/// The pattern of the VM disk scenarios: every 8-byte little-endian word at
/// byte offset o holds `o ^ key`. Pattern 1 (host → guest) uses key = nonce,
/// pattern 2 (guest → host) key = ~nonce: each block carries its number and
/// the run, so a block from the wrong place or an earlier run never matches.
public enum DiskPattern {
    /// Create `path` with `bytes` of pattern `key`.
    public static func fill(path: String, bytes: UInt64, key: UInt64) throws(LibvirtError) {
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LibvirtError(message: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var off: UInt64 = 0
        while off < bytes {
            let n = Int(min(UInt64(chunk.count), bytes - off))
            chunk.withUnsafeMutableBytes { b in
                for i in stride(from: 0, to: n, by: 8) {
                    b.storeBytes(of: ((off + UInt64(i)) ^ key).littleEndian, toByteOffset: i, as: UInt64.self)
                }
            }
            guard pwrite(fd, chunk, n, off_t(off)) == n else {
                throw LibvirtError(message: "writing \(path): \(String(cString: strerror(errno)))")
            }
            off += UInt64(n)
        }
        guard fsync(fd) == 0 else { throw LibvirtError(message: "fsync \(path): \(String(cString: strerror(errno)))") }
    }

    /// nil if `path` holds pattern `key` over `bytes`, else the first bad offset.
    public static func firstMismatch(path: String, bytes: UInt64, key: UInt64) -> UInt64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var off: UInt64 = 0
        while off < bytes {
            let want = Int(min(UInt64(chunk.count), bytes - off))
            guard pread(fd, &chunk, want, off_t(off)) == want else { return off }
            let bad: Int? = chunk.withUnsafeBytes { b in
                for i in stride(from: 0, to: want, by: 8)
                where UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) != (off + UInt64(i)) ^ key {
                    return i
                }
                return nil
            }
            if let bad { return off + UInt64(bad) }
            off += UInt64(want)
        }
        return nil
    }
}
