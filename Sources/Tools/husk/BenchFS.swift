import ArgumentParser
import FSClient
import Foundation
import Glibc
import RPCWire

/// `husk bench fs`: the file-system server against fuse2fs and the kernel,
/// on copies of one image, in one run (docs/BENCHMARKS.md).
struct BenchFS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "The file-system server (its RPC client and its FUSE mount) against fuse2fs and the kernel's ext4.",
        discussion: """
            One image made by mkfs.ext4, one copy per path: (rpc) the server's own Swift client, (fuse) \
            `husk fs mount` over the server, (fuse2fs) Debian's fuse2fs, (kernel) the kernel's ext4 on a \
            loop device. Each path runs the same work: create (open O_CREAT + close), stat and unlink of \
            --files files in one directory, a sequential write of --size-mb MiB in 1 MiB writes and an \
            fsync, a sequential read of it (warm: the page cache of the FUSE and kernel paths may hold \
            it), and --reads random 4 KiB reads. Paths that need root (fuse, fuse2fs, kernel) or a \
            missing tool are skipped with a note. Every figure is also printed as \
            `BENCH fs.<case>.<path> <value> <unit>`, and against fuse2fs as \
            `BENCH fs.<case>.<path>.vs_fuse2fs <ratio> x`, where a ratio above 1 means faster than fuse2fs \
            (its time over the path's, or the path's rate over its rate).
            """)

    @Option(help: "Files created, stat'ed and unlinked.") var files: Int = 2000
    @Option(name: .customLong("size-mb"), help: "MiB written and read sequentially.") var sizeMB: Int = 256
    @Option(help: "Random 4 KiB reads.") var reads: Int = 2000
    @Flag(help: "A short run (200 files, 16 MiB, 200 reads) for tests: only the lines matter.") var quick = false
    @Option(help: "Paths to run, comma-separated: rpc,fuse,fuse2fs,kernel.") var paths: String = "rpc,fuse,fuse2fs,kernel"

    func validate() throws {
        guard files >= 1 && files <= 1_000_000 else { throw ValidationError("--files must be 1...1000000") }
        guard sizeMB >= 1 && sizeMB <= 65536 else { throw ValidationError("--size-mb must be 1...65536") }
        guard reads >= 1 && reads <= 10_000_000 else { throw ValidationError("--reads must be 1...10000000") }
        for p in paths.split(separator: ",") where !BenchFSPath.all.contains(String(p)) {
            throw ValidationError("--paths: unknown path \(p) (rpc, fuse, fuse2fs, kernel)")
        }
    }

    func run() throws {
        let w = BenchFSWork(files: quick ? 200 : files, bytes: (quick ? 16 : sizeMB) << 20, reads: quick ? 200 : reads)
        let dir = try makeScratchDirectory(prefix: "husk-bench-fs")
        defer { _ = removeScratchDirectory(dir) }
        let template = "\(dir)/template.img"
        let imageMB = max(256, (w.bytes >> 20) * 2 + 128)
        let candidates: [String] = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"]
        guard let mkfs = candidates.first(where: { access($0, X_OK) == 0 }),
            runQuietly(mkfs, ["-q", "-F", template, "\(imageMB)M"]) == 0
        else {
            printError("husk bench fs: cannot make the image with mkfs.ext4 (Debian package e2fsprogs)")
            throw ExitCode(1)
        }
        print("image: ext4, \(imageMB) MiB; \(w.files) files, \(w.bytes >> 20) MiB sequential, \(w.reads) random 4 KiB reads")
        var results: [String: BenchFSFigures] = [:]
        for path in paths.split(separator: ",").map(String.init) {
            let image = "\(dir)/\(path).img"
            guard runQuietly("/bin/cp", ["--sparse=always", template, image]) == 0 else {
                printError("husk bench fs: cannot copy the image")
                throw ExitCode(1)
            }
            do {
                results[path] = try BenchFSPath.run(path, image: image, dir: dir, work: w)
            } catch let skip as BenchFSSkip {
                print("\(path): skipped: \(skip.why)")
            }
        }
        report(results)
    }

    func report(_ r: [String: BenchFSFigures]) {
        let cases: [(String, String, (BenchFSFigures) -> Double, Bool)] = [
            ("create", "us", { $0.createUs }, true), ("stat", "us", { $0.statUs }, true), ("unlink", "us", { $0.unlinkUs }, true),
            ("seq_write", "MB/s", { $0.writeMBs }, false), ("seq_read", "MB/s", { $0.readMBs }, false),
            ("rand_read_4k", "us", { $0.randUs }, true)
        ]
        let order = BenchFSPath.all.filter { r[$0] != nil }
        print("")
        print(
            "case".padding(toLength: 14, withPad: " ", startingAt: 0)
                + order.map { $0.padding(toLength: 12, withPad: " ", startingAt: 0) }.joined())
        for (name, unit, get, _) in cases {
            print(
                "\(name) (\(unit))".padding(toLength: 14, withPad: " ", startingAt: 0)
                    + order.map { String(format: "%-12.1f", get(r[$0]!)) }.joined())
        }
        for (name, unit, get, lowerIsBetter) in cases {
            for p in order {
                let v = get(r[p]!)
                print("BENCH fs.\(name).\(p) \(String(format: "%.2f", v)) \(unit)")
                if p != "fuse2fs", let base = r["fuse2fs"].map(get), v > 0, base > 0 {
                    // Two decimals, or two significant digits below 0.1 (never "0.00").
                    let ratio = lowerIsBetter ? base / v : v / base
                    print("BENCH fs.\(name).\(p).vs_fuse2fs \(String(format: ratio >= 0.1 ? "%.2f" : "%.2g", ratio)) x")
                }
            }
        }
    }
}

struct BenchFSWork {
    var files: Int, bytes: Int, reads: Int
}

struct BenchFSFigures {
    var createUs = 0.0, statUs = 0.0, unlinkUs = 0.0, writeMBs = 0.0, readMBs = 0.0, randUs = 0.0
}

struct BenchFSSkip: Error { let why: String }

struct BenchFSFailure: Error, CustomStringConvertible { let description: String }

enum BenchFSPath {
    static let all = ["rpc", "fuse", "fuse2fs", "kernel"]

    static func run(_ path: String, image: String, dir: String, work w: BenchFSWork) throws -> BenchFSFigures {
        let mnt = "\(dir)/\(path).mnt"
        switch path {
        case "rpc":
            let server = try ChildServer(
                arguments: ["fs", "serve", "--image", image, "--socket", "\(dir)/rpc.sock"], socket: "\(dir)/rpc.sock",
                logPath: "\(dir)/rpc.log")
            defer { _ = server.stop() }
            return try rpcWork(FileSystemClient(socket: "\(dir)/rpc.sock"), w)
        case "fuse":
            guard geteuid() == 0, access("/dev/fuse", R_OK | W_OK) == 0 else { throw BenchFSSkip(why: "needs root and /dev/fuse") }
            let server = try ChildServer(
                arguments: ["fs", "serve", "--image", image, "--socket", "\(dir)/fuse.sock"], socket: "\(dir)/fuse.sock",
                logPath: "\(dir)/fuse-server.log")
            defer { _ = server.stop() }
            return try mounted(mnt, start: { try spawn(selfExecutable(), ["fs", "mount", "--socket", "\(dir)/fuse.sock", mnt]) }, w)
        case "fuse2fs":
            guard geteuid() == 0, access("/dev/fuse", R_OK | W_OK) == 0 else { throw BenchFSSkip(why: "needs root and /dev/fuse") }
            guard access("/usr/bin/fuse2fs", X_OK) == 0 else { throw BenchFSSkip(why: "needs fuse2fs (Debian package fuse2fs)") }
            return try mounted(mnt, start: { try spawn("/usr/bin/fuse2fs", [image, mnt, "-f"]) }, w)
        default:
            guard geteuid() == 0 else { throw BenchFSSkip(why: "needs root (mount -o loop)") }
            return try mounted(mnt, start: { runQuietly("/bin/mount", ["-o", "loop", image, mnt]) == 0 ? nil : -1 }, w)
        }
    }

    /// Start a mount (a process, or nil when `start` mounts by itself),
    /// wait for it in /proc/mounts, run the work, unmount.
    static func mounted(_ mnt: String, start: () throws -> pid_t?, _ w: BenchFSWork) throws -> BenchFSFigures {
        guard mkdir(mnt, 0o755) == 0 else { throw BenchFSFailure(description: "mkdir \(mnt): \(String(cString: strerror(errno)))") }
        let pid = try start()
        if pid == -1 { throw BenchFSSkip(why: "the mount failed (loop devices?)") }
        defer {
            _ = runQuietly("/bin/umount", [mnt])
            if let pid, pid > 0 {
                var st: Int32 = 0
                let end = monotonicSeconds() + 10
                while waitpid(pid, &st, WNOHANG) == 0 {
                    if monotonicSeconds() > end {
                        kill(pid, SIGKILL)
                        waitpid(pid, &st, 0)
                        break
                    }
                    usleep(10_000)
                }
            }
        }
        let end = monotonicSeconds() + 20
        while !((try? String(contentsOfFile: "/proc/mounts", encoding: .utf8))?.contains(" \(mnt) ") ?? false) {
            if monotonicSeconds() > end { throw BenchFSSkip(why: "\(mnt) was not mounted within 20 s") }
            usleep(20_000)
        }
        return try posixWork(mnt, w)
    }

    static func spawn(_ path: String, _ args: [String]) throws -> pid_t {
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)
        var cargs: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, path, &fa, nil, &cargs, environ)
        guard r == 0 else { throw BenchFSFailure(description: "cannot start \(path): \(String(cString: strerror(r)))") }
        return pid
    }

    static func offsets(_ w: BenchFSWork) -> [Int] {
        var rng = SystemRandomNumberGenerator()
        let blocks = max(1, w.bytes / 4096)
        return (0..<w.reads).map { _ in Int.random(in: 0..<blocks, using: &rng) * 4096 }
    }

    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let t = monotonicSeconds()
        try body()
        return monotonicSeconds() - t
    }

    /// The work through POSIX calls on a mounted path.
    static func posixWork(_ root: String, _ w: BenchFSWork) throws -> BenchFSFigures {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw BenchFSFailure(description: "\(what): \(String(cString: strerror(errno)))") }
        }
        var f = BenchFSFigures()
        let d = "\(root)/m"
        try check(mkdir(d, 0o755) == 0, "mkdir \(d)")
        let names = (0..<w.files).map { "\(d)/f\($0)" }
        f.createUs =
            try timed {
                for n in names {
                    let fd = open(n, O_CREAT | O_WRONLY, 0o644)
                    try check(fd >= 0, "create \(n)")
                    close(fd)
                }
            } / Double(w.files) * 1e6
        f.statUs =
            try timed {
                var st = stat()
                for n in names { try check(stat(n, &st) == 0, "stat \(n)") }
            } / Double(w.files) * 1e6
        f.unlinkUs = try timed { for n in names { try check(unlink(n) == 0, "unlink \(n)") } } / Double(w.files) * 1e6
        let big = "\(root)/big"
        var chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
        f.writeMBs =
            Double(w.bytes) / 1e6
            / (try timed {
                let fd = open(big, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
                try check(fd >= 0, "create \(big)")
                defer { close(fd) }
                var done = 0
                while done < w.bytes {
                    let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, w.bytes - done)) }
                    try check(n > 0, "write \(big)")
                    done += n
                }
                try check(fsync(fd) == 0, "fsync \(big)")
            })
        let fd = open(big, O_RDONLY)
        try check(fd >= 0, "open \(big)")
        defer { close(fd) }
        f.readMBs =
            Double(w.bytes) / 1e6
            / (try timed {
                var done = 0
                while done < w.bytes {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    try check(n > 0, "read \(big)")
                    done += n
                }
            })
        let offs = offsets(w)
        f.randUs =
            try timed {
                for o in offs {
                    try check(chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 4096, off_t(o)) } == 4096, "pread \(big)")
                }
            } / Double(w.reads) * 1e6
        return f
    }

    /// The same work through the server's own client.
    static func rpcWork(_ c: FileSystemClient, _ w: BenchFSWork) throws -> BenchFSFigures {
        var f = BenchFSFigures()
        let d = try FileSystemClient.Attr(c.fs.mkdir(dir: FileSystemClient.rootIno, name: "m", mode: 0o755).attr).ino
        let names = (0..<w.files).map { "f\($0)" }
        f.createUs = try timed { for n in names { try c.create(d, n, mode: 0o644).1.close() } } / Double(w.files) * 1e6
        f.statUs = try timed { for n in names { _ = try c.lookup(d, n) } } / Double(w.files) * 1e6
        f.unlinkUs = try timed { for n in names { try c.unlink(d, n) } } / Double(w.files) * 1e6
        let chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
        let (attr, file) = try c.create(FileSystemClient.rootIno, "big", mode: 0o644)
        f.writeMBs =
            Double(w.bytes) / 1e6
            / (try timed {
                var done = 0
                while done < w.bytes {
                    let n = min(chunk.count, w.bytes - done)
                    try file.write(offset: UInt64(done), n == chunk.count ? chunk : Array(chunk.prefix(n)))
                    done += n
                }
                try file.fsync()
            })
        try file.close()
        let reader = try c.open(attr.ino, write: false)
        f.readMBs =
            Double(w.bytes) / 1e6
            / (try timed {
                var done = 0
                while done < w.bytes {
                    let got = try reader.read(offset: UInt64(done), length: 1 << 20)
                    if got.isEmpty { throw BenchFSFailure(description: "short read at \(done)") }
                    done += got.count
                }
            })
        let offs = offsets(w)
        f.randUs = try timed { for o in offs { _ = try reader.read(offset: UInt64(o), length: 4096) } } / Double(w.reads) * 1e6
        try reader.close()
        return f
    }
}
