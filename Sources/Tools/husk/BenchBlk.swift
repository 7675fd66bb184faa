import ArgumentParser
import BlockClient
import DiskPattern
import Glibc
import RPCInterfaces
import RPCWire

/// `husk bench blk`: the block server (file component) against direct
/// pread/pwrite on the same image and against fio at queue depth 32, side
/// by side in one run. Figures and names: docs/BENCHMARKS.md.
struct BenchBlk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blk",
        abstract: "The block server against direct pread/pwrite and fio on the same image, side by side.",
        discussion: """
            A scratch image (--size-mib, filled with data first) is served by `husk blk serve` started \
            as a child process; this process is the client (Swift RPC client, shared memory). Cases: \
            sequential 1 MiB reads and writes, random 4 KiB reads and writes at queue depth 1 (direct \
            pread/pwrite as the baseline) and 32 (fio with io_uring as the baseline). Each case runs warm \
            (page cache; the server and baseline use buffered I/O) and cold (O_DIRECT: the server with \
            --direct, the baselines with O_DIRECT). Write runs end with fdatasync (the server's flush). \
            Each server case runs twice: as blk.read/blk.write calls over the socket (depth 32: 32 \
            threads on one device connection), and over the device's block queue (blk.ring.*, \
            docs/block.md: depth 32 is 32 entries in flight on one queue, one thread). \
            Every figure is also \
            printed as `BENCH <name> <value> <unit>`. Needs fio (scripts/setup.sh installs it).
            """)
    @Option(name: .customLong("size-mib"), help: "Image size in MiB.") var sizeMiB: Int = 256
    @Option(help: "Seconds per measurement.") var seconds: Double = 1.5
    @Option(help: "Run only the cases whose name contains this (e.g. seq, qd32).") var only: String?

    func validate() throws {
        guard sizeMiB >= 16, sizeMiB <= 65536 else { throw ValidationError("--size-mib must be 16...65536") }
        guard seconds >= 0.1, seconds <= 600 else { throw ValidationError("--seconds must be 0.1...600") }
    }

    func run() throws {
        guard let fio = findExecutable("fio") else {
            printError("husk bench blk: fio not found in PATH (Debian package fio; scripts/setup.sh installs it)")
            throw ExitCode(2)
        }
        let dir = try makeScratchDirectory(prefix: "husk-bench-blk")
        defer { removeScratchDirectory(dir) }
        let image = dir + "/disk.img"
        let bytes = UInt64(sizeMiB) << 20
        print("bench blk: image \(sizeMiB) MiB in \(dir), \(seconds) s per measurement; filling it")
        try fillImage(image, bytes: bytes)
        var table = BlkBenchTable()
        for cold in [false, true] {
            let cache = cold ? "cold" : "warm"
            let socket = dir + "/blk-\(cache).sock"
            var args = ["blk", "serve", "--image", image, "--socket", socket, "--no-drop-privileges"]
            if cold { args.append("--direct") }
            let server = try ChildServer(arguments: args, socket: socket, logPath: dir + "/server-\(cache).log")
            defer { server.stop() }
            let client = try rpcOrFail { () throws(RPCError) in try BlockServerClient(socket: socket, ring: false) }
            let dev = try rpcOrFail { () throws(RPCError) in try client.open("disk0", writable: true, window: 4 << 20, queue: false) }
            defer { dev.close() }
            // The device's block queue (docs/block.md): entries in shared memory.
            let ringDev = try rpcOrFail { () throws(RPCError) in
                try client.open("disk0", writable: true, window: 4 << 20, queue: true, queueEntries: 64)
            }
            defer { ringDev.close() }
            guard ringDev.queue != nil else { throw BenchFailure("the block server did not set up the block queue", bench: "blk") }
            let direct = try DirectImage(path: image, odirect: cold)
            if !cold { warmPageCache(image) }
            let runner = BlkCaseRunner(seconds: seconds, bytes: bytes)
            for c in BlkCase.all where only.map({ c.name.contains($0) }) ?? true {
                progress("\(cache) \(c.name)")
                let srv = try runner.server(c, dev)
                let ring = try runner.queue(c, ringDev)
                let base = c.depth == 1 ? try runner.direct(c, direct) : try runner.fio(c, fio: fio, image: image, odirect: cold)
                table.add(c, cache: cache, server: srv, baseline: base, baselineName: c.depth == 1 ? "direct" : "fio")
                table.add(c, cache: cache, server: ring, baseline: base, baselineName: c.depth == 1 ? "direct" : "fio", path: "ring")
            }
        }
        table.print()
    }

    private func fillImage(_ path: String, bytes: UInt64) throws {
        // Real data, not holes: reads of a sparse file never reach the disk.
        do throws(PatternFileError) { try writePatternFile(path: path, bytes: bytes, nonce: 0x5eed) } catch {
            throw BenchFailure("\(error)")
        }
        // Cold runs start from an empty cache for this file.
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    private func warmPageCache(_ path: String) { _ = fileContentsCount(path) }

    private func progress(_ what: String) {
        var e = StandardError()
        Swift.print("bench blk: \(what)", to: &e)
    }
}

private func rpcOrFail<T>(_ body: () throws(RPCError) -> T) throws -> T {
    do throws(RPCError) { return try body() } catch { throw BenchFailure("RPC: \(error)") }
}

/// Read a whole file (to warm the page cache); the byte count.
private func fileContentsCount(_ path: String) -> Int {
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    var total = 0
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        total += n
    }
    return total
}

func findExecutable(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for d in path.split(separator: ":") where access("\(d)/\(name)", X_OK) == 0 { return "\(d)/\(name)" }
    return nil
}
