import BlockClient
import DiskPattern
import Glibc
import Platform
import PlatformC
import RPCInterfaces
import RPCWire

/// One measurement of `husk bench blk`.
struct BlkCase {
    let name: String
    let write: Bool
    let blockSize: Int
    let random: Bool
    let depth: Int

    static let all: [BlkCase] = [
        BlkCase(name: "seq_read_1m", write: false, blockSize: 1 << 20, random: false, depth: 1),
        BlkCase(name: "seq_write_1m", write: true, blockSize: 1 << 20, random: false, depth: 1),
        BlkCase(name: "rand_read_4k_qd1", write: false, blockSize: 4096, random: true, depth: 1),
        BlkCase(name: "rand_write_4k_qd1", write: true, blockSize: 4096, random: true, depth: 1),
        BlkCase(name: "rand_read_4k_qd32", write: false, blockSize: 4096, random: true, depth: 32),
        BlkCase(name: "rand_write_4k_qd32", write: true, blockSize: 4096, random: true, depth: 32)
    ]

    /// Sequential cases are reported in MiB/s, random ones in IOPS.
    var unit: String { random ? "iops" : "MiB/s" }
    func figure(opsPerSecond: Double) -> Double { random ? opsPerSecond : opsPerSecond * Double(blockSize) / 1_048_576 }
}

/// The image opened directly by the benchmark (the baseline of depth-1 cases).
final class DirectImage {
    let fd: Int32
    let aligned = AlignedBuffer(1 << 20)
    var buffer: UnsafeMutableRawPointer { aligned.pointer }
    init(path: String, odirect: Bool) throws {
        fd = Glibc.open(path, O_RDWR | O_CLOEXEC | (odirect ? husk_o_direct() : 0))
        guard fd >= 0 else { throw BenchFailure("open \(path)\(odirect ? " with O_DIRECT" : ""): \(String(cString: strerror(errno)))") }
        memset(buffer, 0xA5, aligned.size)
    }
    deinit { close(fd) }
}

/// Runs each case for a fixed time against the server, the image, or fio.
struct BlkCaseRunner {
    let seconds: Double
    let bytes: UInt64

    /// Offsets of the i-th operation: sequential wraps around the image,
    /// random is uniform over aligned blocks (a cheap xorshift per thread).
    private func offset(_ c: BlkCase, _ i: UInt64, _ rng: inout UInt64) -> UInt64 {
        let blocks = bytes / UInt64(c.blockSize)
        if !c.random { return (i % blocks) * UInt64(c.blockSize) }
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return (rng % blocks) * UInt64(c.blockSize)
    }

    /// Operations per second through the block server.
    func server(_ c: BlkCase, _ dev: BlockDevice) throws -> Double {
        let slot = dev.window.size / c.depth
        let blk = BlkClient(dev.rpc)
        let errors = ErrorCount()
        let deadline = monotonicSeconds() + seconds
        let t0 = monotonicSeconds()
        let ops = runThreads(c.depth) { t in
            var rng = UInt64(t + 1) &* 0x9E3779B97F4A7C15
            var n: UInt64 = 0
            let ref = dev.window.ref(offset: UInt64(t * slot), length: UInt64(c.blockSize))
            while monotonicSeconds() < deadline {
                let off = offset(c, n &* UInt64(c.depth) &+ UInt64(t), &rng)
                do throws(RPCError) {
                    if c.write { _ = try blk.write(offset: off, buffer: ref) } else { _ = try blk.read(offset: off, buffer: ref) }
                } catch {
                    errors.add()
                    break
                }
                n += 1
            }
            return n
        }
        if c.write { do throws(RPCError) { try dev.flush() } catch { errors.add() } }
        let elapsed = monotonicSeconds() - t0
        if errors.value > 0 { throw BenchFailure("\(c.name): \(errors.value) RPC errors") }
        return Double(ops) / elapsed
    }

    /// Operations per second through the device's block queue: `depth`
    /// entries in flight on the one queue (one thread), each completion
    /// answered by the next entry; writes end with a flush entry.
    func queue(_ c: BlkCase, _ dev: BlockDevice) throws -> Double {
        guard let q = dev.queue else { throw BenchFailure("\(c.name): the device has no block queue") }
        guard c.depth <= Int(q.entries), c.depth * c.blockSize <= q.region.size else {
            throw BenchFailure("\(c.name): depth \(c.depth) does not fit the queue")
        }
        var rng: UInt64 = 0x9E3779B97F4A7C15
        var n: UInt64 = 0
        var failures = 0
        let op: BlockQueue.Op = c.write ? .write : .read
        let t0 = monotonicSeconds()
        let deadline = t0 + seconds
        do throws(RPCError) {
            for slot in 0..<c.depth {
                let off = offset(c, n, &rng)
                _ = try q.push(op, offset: off, length: UInt32(c.blockSize), buffer: UInt64(slot * c.blockSize), tag: UInt64(slot))
                n += 1
            }
            q.submit()
            var running = true
            while q.outstanding > 0 {
                for done in try q.wait() {
                    if done.status != 0 { failures += 1 }
                    if running && monotonicSeconds() >= deadline { running = false }
                    guard running else { continue }
                    let off = offset(c, n, &rng)
                    _ = try q.push(op, offset: off, length: UInt32(c.blockSize), buffer: done.tag * UInt64(c.blockSize), tag: done.tag)
                    n += 1
                }
                q.submit()
            }
            if c.write {
                _ = try q.push(.flush, offset: 0, length: 0, buffer: 0, tag: 0)
                q.submit()
                for done in try q.wait() where done.status != 0 { failures += 1 }
            }
        } catch { throw BenchFailure("\(c.name): block queue: \(error)") }
        let elapsed = monotonicSeconds() - t0
        if failures > 0 { throw BenchFailure("\(c.name): \(failures) failed queue entries") }
        return Double(n) / elapsed
    }

    /// Operations per second with pread/pwrite on the image (depth 1).
    func direct(_ c: BlkCase, _ img: DirectImage) throws -> Double {
        var rng: UInt64 = 0x9E3779B97F4A7C15
        var n: UInt64 = 0
        let t0 = monotonicSeconds()
        let deadline = t0 + seconds
        while monotonicSeconds() < deadline {
            let off = off_t(offset(c, n, &rng))
            let r = c.write ? pwrite(img.fd, img.buffer, c.blockSize, off) : pread(img.fd, img.buffer, c.blockSize, off)
            guard r == c.blockSize else {
                throw BenchFailure("\(c.name): direct \(c.write ? "pwrite" : "pread"): \(String(cString: strerror(errno)))")
            }
            n += 1
        }
        if c.write { fdatasync(img.fd) }
        return Double(n) / (monotonicSeconds() - t0)
    }

    /// Operations per second reported by fio (io_uring, iodepth = depth).
    func fio(_ c: BlkCase, fio: String, image: String, odirect: Bool) throws -> Double {
        let rw = c.random ? (c.write ? "randwrite" : "randread") : (c.write ? "write" : "read")
        var cmd = "\(fio) --name=husk --filename=\(image) --rw=\(rw) --bs=\(c.blockSize) --iodepth=\(c.depth)"
        cmd += " --ioengine=io_uring --direct=\(odirect ? 1 : 0) --invalidate=0 --size=\(bytes)"
        cmd += " --runtime=\(seconds) --time_based --output-format=terse --terse-version=3"
        if c.write { cmd += " --end_fsync=1" }
        guard let p = popen(cmd + " 2>&1", "r") else { throw BenchFailure("cannot run fio") }
        var out = ""
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, Int32(buf.count), p) != nil { out += String(cString: buf) }
        let status = pclose(p)
        // Terse v3: field 8 is read IOPS, field 49 write IOPS (1-based).
        let line = out.split(separator: "\n").first { $0.hasPrefix("3;") }
        let fields = line?.split(separator: ";", omittingEmptySubsequences: false) ?? []
        let index = c.write ? 48 : 7
        guard status == 0, fields.count > index, let iops = Double(fields[index]) else {
            throw BenchFailure("\(c.name): fio failed (status \(status)): \(out.prefix(400))")
        }
        return iops
    }
}

/// Run `body(t)` on `n` threads at once (real threads: Dispatch's pool is
/// as wide as the CPUs, which would cap the queue depth) and sum results.
func runThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> UInt64) -> UInt64 {
    final class Job: @unchecked Sendable {
        // @unchecked: `result` is written by its thread before join.
        let t: Int, body: @Sendable (Int) -> UInt64
        var result: UInt64 = 0
        init(_ t: Int, _ b: @escaping @Sendable (Int) -> UInt64) {
            self.t = t
            body = b
        }
    }
    if n == 1 { return body(0) }
    let jobs = (0..<n).map { Job($0, body) }
    let threads = jobs.map { j in HostThread.start(name: "bench\(j.t)") { j.result = j.body(j.t) } }
    for t in threads { t.join() }
    return jobs.reduce(0) { $0 + $1.result }
}

/// Errors counted across benchmark threads.
final class ErrorCount: Sendable {
    private let count = Locked(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.get() }
}

/// The table and the BENCH lines of `husk bench blk`.
struct BlkBenchTable {
    private var rows: [[String]] = []
    private var bench: [String] = []

    /// `path`: "" for the socket calls, "ring" for the block queue (`blk.ring.CASE...`).
    mutating func add(_ c: BlkCase, cache: String, server: Double, baseline: Double, baselineName: String, path: String = "") {
        let s = c.figure(opsPerSecond: server), b = c.figure(opsPerSecond: baseline)
        let ratio = b > 0 ? s / b : 0
        let shown = path.isEmpty ? c.name : "\(path) \(c.name)"
        rows.append([shown, cache, fmt(s) + " " + c.unit, "\(baselineName) " + fmt(b) + " " + c.unit, String(format2: ratio) + "x"])
        let name = path.isEmpty ? "blk.\(c.name).\(cache)" : "blk.\(path).\(c.name).\(cache)"
        bench.append("BENCH \(name).husk \(fmt(s)) \(c.unit)")
        bench.append("BENCH \(name).\(baselineName) \(fmt(b)) \(c.unit)")
        bench.append("BENCH \(name).vs_\(baselineName) \(String(format2: ratio)) x")
    }

    private func fmt(_ v: Double) -> String { v >= 100 ? String(Int(v.rounded())) : String(format2: v) }

    func print() {
        let header = ["case", "cache", "husk blk server", "baseline", "ratio"]
        let all = [header] + rows
        let widths = (0..<header.count).map { i in all.map { $0[i].count }.max() ?? 0 }
        for (k, r) in all.enumerated() {
            Swift.print(r.enumerated().map { i, v in v.padded(widths[i]) }.joined(separator: "  "))
            if k == 0 { Swift.print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        for line in bench { Swift.print(line) }
    }
}

extension String {
    /// Two decimals without Foundation.
    init(format2 v: Double) {
        let r = (v * 100).rounded() / 100
        let whole = Int(r), frac = Int(((r - Double(whole)) * 100).rounded())
        self = "\(whole).\(frac < 10 ? "0" : "")\(abs(frac))"
    }
}
