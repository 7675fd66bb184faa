import Glibc
import HypercallABI
import Hypercalls
import Platform

/// Write-cache policy of a simulated disk (spec key `cache=`).
public enum SimCacheMode: String, Sendable {
    /// Writes complete into a volatile cache; FLUSH makes them durable.
    case volatile
    /// Writes go straight to the medium.
    case writethrough
}

/// Where a simulated disk keeps its blocks: an image file or anonymous
/// memory (the "medium"), optionally behind a volatile write cache.
///
/// With `.volatile`, a completed write lives only in the cache (reads see
/// it) until `flush()` writes every cached sector to the medium and
/// fdatasync()s it; `dropUnflushed()` is what a power cut does to the cache.
/// With `.writethrough`, writes go straight to the medium, so a power cut
/// loses nothing (the host OS page cache is outside the simulation).
///
/// `@unchecked Sendable`: all state is guarded by `lock`; the device thread
/// uses it while test controls (powerCut) may run on other threads.
final class SimBlockStore: @unchecked Sendable {
    typealias CacheMode = SimCacheMode
    static let sector = 512

    let capacity: UInt64  // bytes, a multiple of blockSize
    let blockSize: Int
    let readOnly: Bool
    let cacheMode: CacheMode

    private let lock = Monitor()
    private var fd: Int32  // -1: memory medium
    private var memory: UnsafeMutableRawPointer?  // memory medium (mmap)
    private var cache: [UInt64: [UInt8]] = [:]  // 512-byte sector -> data

    /// An in-memory disk of `bytes` bytes.
    init(memoryBytes bytes: UInt64, blockSize: Int, readOnly: Bool, cacheMode: CacheMode) throws(HypError) {
        guard bytes >= UInt64(blockSize), bytes % UInt64(blockSize) == 0, bytes <= 1 << 40 else {
            throw .inval("sim disk size \(bytes) must be a non-zero multiple of blksize \(blockSize)")
        }
        let p = mmap(nil, Int(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw HypError.fromErrno(errno, "mmap \(bytes) bytes for a sim disk") }
        memory = p
        fd = -1
        capacity = bytes
        self.blockSize = blockSize
        self.readOnly = readOnly
        self.cacheMode = cacheMode
    }

    /// A disk backed by an existing image file; its size is rounded down to
    /// whole blocks.
    init(path: String, blockSize: Int, readOnly: Bool, cacheMode: CacheMode) throws(HypError) {
        let f = Glibc.open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard f >= 0 else { throw HypError.fromErrno(errno, "open \(path)") }
        var st = stat()
        guard fstat(f, &st) == 0 else {
            let e = errno
            Glibc.close(f)
            throw HypError.fromErrno(e, "fstat \(path)")
        }
        let bytes = UInt64(max(0, st.st_size)) / UInt64(blockSize) * UInt64(blockSize)
        guard bytes > 0 else {
            Glibc.close(f)
            throw .inval("image \(path) is smaller than one \(blockSize)-byte block")
        }
        fd = f
        memory = nil
        capacity = bytes
        self.blockSize = blockSize
        self.readOnly = readOnly
        self.cacheMode = cacheMode
    }

    deinit { close() }

    func close() {
        lock.withLock {
            if fd >= 0 {
                Glibc.close(fd)
                fd = -1
            }
            if let m = memory {
                munmap(m, Int(capacity))
                memory = nil
            }
            cache.removeAll()
        }
    }

    /// Sectors written but not yet flushed.
    var unflushedSectors: Int { lock.withLock { cache.count } }

    // MARK: I/O. Offsets and lengths are multiples of 512 inside the disk
    // (the device checks); a violation is refused, never trusted.

    private func inRange(_ offset: UInt64, _ count: Int) -> Bool {
        offset % UInt64(SimBlockStore.sector) == 0 && count % SimBlockStore.sector == 0
            && offset <= capacity && UInt64(count) <= capacity - offset
    }

    func read(offset: UInt64, into buf: UnsafeMutableRawBufferPointer) -> Bool {
        guard inRange(offset, buf.count), let base = buf.baseAddress else { return buf.count == 0 }
        return lock.withLock {
            guard readMedium(offset, base, buf.count) else { return false }
            if cache.isEmpty { return true }
            let first = offset / 512
            for i in 0..<(buf.count / 512) {
                if let data = cache[first + UInt64(i)] {
                    data.withUnsafeBytes { (base + i * 512).copyMemory(from: $0.baseAddress!, byteCount: 512) }
                }
            }
            return true
        }
    }

    func write(offset: UInt64, from buf: UnsafeRawBufferPointer) -> Bool {
        guard !readOnly, inRange(offset, buf.count), let base = buf.baseAddress else { return buf.count == 0 && !readOnly }
        return lock.withLock {
            if cacheMode == .writethrough { return writeMedium(offset, base, buf.count) }
            let first = offset / 512
            for i in 0..<(buf.count / 512) {
                cache[first + UInt64(i)] = Array(UnsafeRawBufferPointer(start: base + i * 512, count: 512))
            }
            return true
        }
    }

    /// Write back the cache and make the medium durable. On failure the
    /// cache keeps what was not written.
    func flush() -> Bool {
        lock.withLock {
            for key in cache.keys.sorted() {
                let ok = cache[key]!.withUnsafeBytes { writeMedium(key * 512, $0.baseAddress!, 512) }
                guard ok else { return false }
                cache[key] = nil
            }
            if fd >= 0 && fdatasync(fd) != 0 { return false }
            return true
        }
    }

    /// A power cut: everything not flushed is gone.
    func dropUnflushed() { lock.withLock { cache.removeAll() } }

    // MARK: medium (caller holds lock)

    private func readMedium(_ offset: UInt64, _ p: UnsafeMutableRawPointer, _ count: Int) -> Bool {
        if let m = memory {
            p.copyMemory(from: m + Int(offset), byteCount: count)
            return true
        }
        guard fd >= 0 else { return false }
        var done = 0
        while done < count {
            let n = pread(fd, p + done, count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return false }
            if n == 0 {
                (p + done).initializeMemory(as: UInt8.self, repeating: 0, count: count - done)
                break
            }
            done += n
        }
        return true
    }

    private func writeMedium(_ offset: UInt64, _ p: UnsafeRawPointer, _ count: Int) -> Bool {
        if let m = memory {
            (m + Int(offset)).copyMemory(from: p, byteCount: count)
            return true
        }
        guard fd >= 0 else { return false }
        var done = 0
        while done < count {
            let n = pwrite(fd, p + done, count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}
