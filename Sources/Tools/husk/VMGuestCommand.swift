import ArgumentParser
import BlockClient
import DiskPattern
import Glibc
import RPCInterfaces
import RPCWire

/// `husk vm guest`: the steps of the test guest's /init that need more than
/// busybox (Sources/VM/Image/InitScript.swift, docs/vm-guest.md). Runs in the
/// static husk inside the guest. Every step prints
/// `HUSK-CHECK <name> PASS|FAIL <detail>` and appends `<name> <result>` to
/// --checks-file, which /init counts for `HUSK-DONE <n>`.
struct VMGuest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest",
        abstract: "In-guest scenario steps (run by the test guest's /init).",
        shouldDisplay: false,
        subcommands: [VMGuestCheck.self, VMGuestVerify.self, VMGuestBench.self]
    )
}

/// HUSK-CHECK lines on stdout, recorded in the checks file.
struct GuestChecks {
    let file: String?
    var failures = 0

    mutating func record(_ name: String, _ pass: Bool, _ detail: String) {
        let oneLine = String(detail.map { $0 == "\n" ? " " : $0 })
        print("HUSK-CHECK \(name) \(pass ? "PASS" : "FAIL") \(oneLine)")
        if !pass { failures += 1 }
        guard let file else { return }
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let line = "\(name) \(pass ? "PASS" : "FAIL")\n"
        _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }
}

struct GuestCheckOptions: ParsableArguments {
    @Option(help: "File the check names are appended to (counted by /init).") var checksFile: String?
}

private func rate(_ bytes: UInt64, _ seconds: Double) -> String {
    "\(String(format2: Double(bytes) / 1_048_576 / max(seconds, 1e-9))) MiB/s"
}

/// Through the block server: read pattern 1, write pattern 2, flush, read it back.
struct VMGuestCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Verify pattern 1 and write pattern 2 through the block server.")
    @Option(help: "The block server's socket.") var socket: String
    @Option(help: "Expected disk size in bytes.") var bytes: UInt64
    @Option(help: "Nonce, hex u64.") var nonce: String
    @OptionGroup var options: GuestCheckOptions

    func run() throws {
        var checks = GuestChecks(file: options.checksFile)
        guard let key = DiskPattern.parseNonce(nonce) else {
            checks.record("blk-arguments", false, "bad nonce '\(nonce)'")
            throw ExitCode(1)
        }
        var opened: BlockDevice?
        var why = ""
        do throws(RPCError) {
            let server = try BlockServerClient(socket: socket, timeoutSeconds: 60)
            let names = try server.devices()
            if names.count == 1 {
                opened = try server.open(names[0], writable: true)
            } else {
                why = "expected one device, the server has \(names)"
            }
        } catch {
            why = "\(error)"
        }
        guard let dev = opened else {
            checks.record("blk-open", false, why)
            throw ExitCode(1)
        }
        checks.record("blk-open", true, "\(dev.name): \(dev.blockCount) blocks of \(dev.blockSize) bytes, features \(dev.features)")
        defer { dev.close() }
        checks.record("blk-size", dev.sizeBytes == bytes, "\(dev.sizeBytes) bytes (expected \(bytes))")
        let total = min(dev.sizeBytes, bytes)
        let chunk = UInt64(dev.window.size)

        // Pattern 1, written by the host before boot.
        checks.record("blk-read-pattern1", pass: passes(readVerify(dev, total, chunk, key, second: false)))
        // Pattern 2 over the whole disk, then flush.
        var t0 = monotonicSeconds()
        var failure: String?
        var off: UInt64 = 0
        while off < total {
            let n = Int(min(chunk, total - off))
            DiskPattern.fill(dev.window.base, length: n, at: off, key: DiskPattern.key(nonce: key, second: true))
            do throws(RPCError) { _ = try dev.blk.write(offset: off, buffer: dev.window.ref(offset: 0, length: UInt64(n))) } catch {
                failure = "write at offset \(off): \(error)"
                break
            }
            off += UInt64(n)
        }
        checks.record("blk-write-pattern2", failure == nil, failure ?? "\(total) bytes, \(rate(total, monotonicSeconds() - t0))")
        t0 = monotonicSeconds()
        do throws(RPCError) {
            try dev.flush()
            checks.record("blk-flush", true, "\(String(format2: (monotonicSeconds() - t0) * 1000)) ms")
        } catch {
            checks.record("blk-flush", false, "\(error)")
        }
        checks.record("blk-reread-pattern2", pass: passes(readVerify(dev, total, chunk, key, second: true)))
        if checks.failures > 0 { throw ExitCode(1) }
    }

    private func passes(_ r: (ok: Bool, detail: String)) -> (Bool, String) { (r.ok, r.detail) }

    private func readVerify(_ dev: BlockDevice, _ total: UInt64, _ chunk: UInt64, _ key: UInt64, second: Bool) -> (ok: Bool, detail: String)
    {
        let t0 = monotonicSeconds()
        var off: UInt64 = 0
        var bad = 0
        var first: (offset: UInt64, detail: String)?
        while off < total {
            let n = Int(min(chunk, total - off))
            do throws(RPCError) { _ = try dev.blk.read(offset: off, buffer: dev.window.ref(offset: 0, length: UInt64(n))) } catch {
                return (false, "read at offset \(off): \(error)")
            }
            bad += DiskPattern.verify(dev.window.base, length: n, at: off, nonce: key, second: second, first: &first)
            off += UInt64(n)
        }
        if bad > 0 { return (false, "\(bad) words differ from pattern \(second ? 2 : 1); \(first?.detail ?? "")") }
        return (true, "\(total) bytes match pattern \(second ? 2 : 1), \(rate(total, monotonicSeconds() - t0))")
    }
}

extension GuestChecks {
    mutating func record(_ name: String, pass r: (Bool, String)) { record(name, r.0, r.1) }
}

/// Through the guest kernel: verify a pattern on a block device with O_DIRECT.
struct VMGuestVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify a pattern on a file or block device (O_DIRECT).")
    @Option(help: "File or block device.") var file: String
    @Option(help: "Bytes to verify.") var bytes: UInt64
    @Option(help: "Nonce, hex u64.") var nonce: String
    @Flag(help: "Pattern 2 (default: pattern 1).") var second = false
    @Option(help: "Check name.") var name: String = "kernel-read-pattern"
    @OptionGroup var options: GuestCheckOptions

    func run() throws {
        var checks = GuestChecks(file: options.checksFile)
        guard let key = DiskPattern.parseNonce(nonce) else {
            checks.record(name, false, "bad nonce '\(nonce)'")
            throw ExitCode(1)
        }
        let t0 = monotonicSeconds()
        let r = verifyPatternFile(path: file, bytes: bytes, nonce: key, second: second, direct: true)
        checks.record(
            name, r.bad == 0, r.bad == 0 ? "\(file): \(r.detail), \(rate(bytes, monotonicSeconds() - t0))" : "\(file): \(r.detail)")
        if r.bad != 0 { throw ExitCode(1) }
    }
}

/// Benchmarks in the guest: the block server (--socket) or the guest
/// kernel's virtio_blk with O_DIRECT (--file). The second run reads the
/// first one's figures (--compare) and prints the ratios.
struct VMGuestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Read benchmarks through the block server or a block device.")
    @Option(help: "The block server's socket (the husk side).") var socket: String?
    @Option(help: "Block device opened with O_DIRECT (the kernel side).") var file: String?
    @Option(help: "Accelerator name for the BENCH lines (tcg or kvm).") var accel: String = "tcg"
    @Option(help: "Seconds per case.") var seconds: Double = 3
    @Option(help: "Write the figures here (name value per line).") var results: String?
    @Option(help: "Figures of the husk run, to print vs_kernel ratios.") var compare: String?
    @OptionGroup var options: GuestCheckOptions

    static let cases = BlkCase.all.filter { !$0.write }

    func validate() throws {
        guard (socket == nil) != (file == nil) else { throw ValidationError("give --socket or --file") }
    }

    func run() throws {
        var checks = GuestChecks(file: options.checksFile)
        let side = socket != nil ? "husk" : "kernel"
        var figures: [(BlkCase, Double)] = []
        do {
            if let socket {
                let dev = try guestRPC { () throws(RPCError) in
                    try BlockServerClient(socket: socket, timeoutSeconds: 60).open("vblk0", writable: false)
                }
                defer { dev.close() }
                let runner = BlkCaseRunner(seconds: seconds, bytes: dev.sizeBytes)
                for c in Self.cases { figures.append((c, c.figure(opsPerSecond: try runner.server(c, dev)))) }
            } else if let file {
                let img = try DirectImage(path: file, odirect: true)
                let size = UInt64(lseek(img.fd, 0, SEEK_END))
                let runner = BlkCaseRunner(seconds: seconds, bytes: size)
                for c in Self.cases {
                    let ops = c.depth == 1 ? try runner.direct(c, img) : try kernelParallel(c, path: file, bytes: size)
                    figures.append((c, c.figure(opsPerSecond: ops)))
                }
            }
        } catch {
            checks.record("bench-\(side)", false, "\(error)")
            throw ExitCode(1)
        }
        var saved = ""
        let baseline = compare.flatMap(readFigures) ?? [:]
        for (c, v) in figures {
            let name = "vm.\(c.name).\(accel)"
            print("BENCH \(name).\(side) \(fmt(v)) \(c.unit)")
            saved += "\(c.name) \(v)\n"
            if let husk = baseline[c.name], v > 0 {
                print("BENCH \(name).vs_kernel \(String(format2: husk / v)) x")
            }
        }
        if let results {
            let fd = open(results, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd >= 0 {
                _ = saved.withCString { Glibc.write(fd, $0, strlen($0)) }
                close(fd)
            }
        }
        checks.record(
            "bench-\(side)", true,
            figures.map { "\($0.0.name)=\(fmt($0.1))\($0.0.unit == "iops" ? "iops" : "MiB/s")" }.joined(separator: " "))
    }

    private func fmt(_ v: Double) -> String { v >= 100 ? String(Int(v.rounded())) : String(format2: v) }

    private func readFigures(_ path: String) -> [String: Double]? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out: [String: Double] = [:]
        var buf = [CChar](repeating: 0, count: 256)
        while fgets(&buf, Int32(buf.count), f) != nil {
            let parts = String(cString: buf).split(whereSeparator: { $0 == " " || $0 == "\n" })
            if parts.count == 2, let v = Double(parts[1]) { out[String(parts[0])] = v }
        }
        return out
    }

    /// Random reads at queue depth c.depth: one thread per slot, each with its
    /// own O_DIRECT descriptor and buffer, pread in a loop.
    private func kernelParallel(_ c: BlkCase, path: String, bytes: UInt64) throws -> Double {
        let deadline = monotonicSeconds() + seconds
        let errors = ErrorCount()
        let t0 = monotonicSeconds()
        let blockSize = c.blockSize
        let ops = runThreads(c.depth) { t in
            guard let img = try? DirectImage(path: path, odirect: true) else {
                errors.add()
                return 0
            }
            var rng = UInt64(t + 1) &* 0x9E3779B97F4A7C15
            let blocks = bytes / UInt64(blockSize)
            var n: UInt64 = 0
            while monotonicSeconds() < deadline {
                rng ^= rng << 13
                rng ^= rng >> 7
                rng ^= rng << 17
                let off = off_t((rng % blocks) * UInt64(blockSize))
                guard pread(img.fd, img.buffer, blockSize, off) == blockSize else {
                    errors.add()
                    break
                }
                n += 1
            }
            return n
        }
        if errors.value > 0 { throw BenchFailure("\(c.name): \(errors.value) pread errors on \(path)") }
        return Double(ops) / (monotonicSeconds() - t0)
    }
}

private func guestRPC<T>(_ body: () throws(RPCError) -> T) throws -> T {
    do throws(RPCError) { return try body() } catch { throw BenchFailure("RPC: \(error)") }
}
