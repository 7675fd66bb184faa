import ArgumentParser
import Glibc
import NICBenchC

/// `husk bench nic`: frames per second through the NIC registry and the NIC
/// server against raw system calls on the same TAP, side by side in one run.
/// Figures and names: docs/BENCHMARKS.md.
struct BenchNIC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nic",
        abstract: "The NIC registry and the NIC server against raw TAP system calls, side by side.",
        discussion: """
            The bench moves into a network namespace of its own (so it needs root; nothing it creates \
            outlives it) and makes a TAP interface there, hkb0, up, without addresses. Three paths move \
            frames through it: raw read(2)/write(2) on the TAP descriptor (the baseline), the tap component \
            with a consumer of the NIC registry in this process, and `husk nic serve --tap` in a child \
            process with this process as its stack (64-frame sends, 20 ms receives), and, beside the TAP, \
            two sim virtio NICs wired back to back with the virtio_net driver on each (sim: no system call \
            on the way). Transmit: frames to the kernel (sim: to the other NIC), as fast as the path goes. \
            Receive: an AF_PACKET socket on hkb0 sends frames as fast as it can from its own thread while \
            the path counts what it receives (the TAP queue drops what a slow path cannot take; sim: the \
            other NIC sends from a thread of its own). Frame sizes 64 and 1514 bytes (a full 1500-byte MTU). Every \
            figure is also printed as `BENCH <name> <value> <unit>`.
            """)
    @Option(help: "Seconds per measurement.") var seconds: Double = 1
    @Option(help: "Run only the paths whose name contains this (registry, server, sim; raw always runs).") var only: String?

    static let interface = "hkb0"
    static let sizes = [64, 1514]

    func validate() throws {
        guard seconds >= 0.1, seconds <= 600 else { throw ValidationError("--seconds must be 0.1...600") }
    }

    func run() throws {
        guard access("/dev/net/tun", R_OK | W_OK) == 0 else {
            printError("husk bench nic: /dev/net/tun is not usable (no TUN/TAP support, or not root)")
            throw ExitCode(2)
        }
        guard nicbench_private_netns() == 0 else {
            printError(
                "husk bench nic: cannot make a network namespace (unshare CLONE_NEWNET: \(String(cString: strerror(errno)))); run as root")
            throw ExitCode(2)
        }
        let candidates: [String] = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"]
        guard let ip = candidates.first(where: { access($0, X_OK) == 0 }) else {
            printError("husk bench nic: ip not found (Debian package iproute2; scripts/setup.sh installs it)")
            throw ExitCode(2)
        }
        for args in [["tuntap", "add", "dev", Self.interface, "mode", "tap"], ["link", "set", Self.interface, "up"]] {
            guard runQuietly(ip, args) == 0 else {
                printError("husk bench nic: ip \(args.joined(separator: " ")) failed")
                throw ExitCode(2)
            }
        }
        let dir = try makeScratchDirectory(prefix: "husk-bench-nic")
        defer { _ = removeScratchDirectory(dir) }
        print("bench nic: TAP \(Self.interface) in a private network namespace, \(seconds) s per measurement")

        let sourceFrames = Dictionary(
            uniqueKeysWithValues: Self.sizes.map { ($0, Self.frame($0, to: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) })
        var results: [String: [String: Double]] = [:]  // path -> case -> frames/s
        let paths: [(String, () throws -> any NICBenchPath)] = [
            ("raw", { try RawTAPPath(interface: Self.interface) }),
            ("registry", { try RegistryPath(interface: Self.interface) }),
            ("server", { try ServerPath(interface: Self.interface, socket: dir + "/nic.sock", log: dir + "/server.log") }),
            ("sim", { try SimPairPath() })
        ]
        for (name, make) in paths where only.map({ name.contains($0) || name == "raw" }) ?? true {
            progress("\(name): opening")
            let path = try make()
            defer { path.close() }
            for size in Self.sizes {
                progress("\(name): transmit \(size)-byte frames")
                results[name, default: [:]]["tx\(size)"] = path.transmit(Self.frame(size, to: [0x02, 0, 0, 0, 0, 1]), seconds: seconds)
                progress("\(name): receive \(size)-byte frames")
                let source = try NICBenchSource(interface: Self.interface, frame: sourceFrames[size]!)
                results[name, default: [:]]["rx\(size)"] = path.receive(seconds: seconds, source: source)
            }
        }
        printTable(results)
    }

    /// An Ethernet frame of `size` bytes to `dst`, from a locally administered
    /// address, type 0x88b5 (local experimental): the kernel drops it unread.
    static func frame(_ size: Int, to dst: [UInt8]) -> [UInt8] {
        var f = dst + [0x02, 0x68, 0x75, 0x73, 0x6b, 0x01, 0x88, 0xb5]
        f += (0..<(size - 14)).map { UInt8(truncatingIfNeeded: $0) }
        return f
    }

    private func printTable(_ results: [String: [String: Double]]) {
        let raw = results["raw"] ?? [:]
        var rows: [[String]] = []
        var bench: [String] = []
        for dir in ["tx", "rx"] {
            for size in Self.sizes {
                let key = "\(dir)\(size)"
                guard let base = raw[key] else { continue }
                for path in ["raw", "registry", "server", "sim"] {
                    guard let fps = results[path]?[key] else { continue }
                    let mbs = fps * Double(size) / 1e6
                    let ratio = base > 0 ? fps / base : 0
                    rows.append([
                        "\(dir == "tx" ? "transmit" : "receive") \(size) B", path, String(Int(fps.rounded())), String(format2: mbs),
                        path == "raw" ? "1.00x" : String(format2: ratio) + "x"
                    ])
                    bench.append("BENCH nic.\(key).\(path) \(Int(fps.rounded())) frames/s")
                    if path != "raw" { bench.append("BENCH nic.\(key).\(path).vs_raw \(String(format2: ratio)) x") }
                }
            }
        }
        let header = ["case", "path", "frames/s", "MB/s", "vs raw"]
        let all = [header] + rows
        let widths = (0..<header.count).map { i in all.map { $0[i].count }.max() ?? 0 }
        for (k, r) in all.enumerated() {
            print(r.enumerated().map { i, v in v.padded(widths[i]) }.joined(separator: "  "))
            if k == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        for line in bench { print(line) }
    }

    private func progress(_ what: String) {
        var e = StandardError()
        Swift.print("bench nic: \(what)", to: &e)
    }
}

/// Run a helper program to completion with its output discarded; its exit status.
func runQuietly(_ path: String, _ args: [String]) -> Int32 {
    var fa = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&fa)
    defer { posix_spawn_file_actions_destroy(&fa) }
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)
    var cargs: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { for p in cargs { free(p) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, path, &fa, nil, &cargs, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}
