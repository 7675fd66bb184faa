import ArgumentParser
import Glibc
import HuskHost
import Hypercalls
import PlatformC

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The embedded default: copy a generated disk image with the blkcopy component and check the result.",
        discussion: """
            Creates a scratch directory with a source image (every 4 KiB block carries its number and a \
            per-run nonce) and an empty destination image, loads the blkcopy component through the \
            hypercall layer and lets it copy through DMA buffers with asynchronous block I/O, then \
            compares both files from the host side. With --backend sim the edu driver is loaded too, \
            and the copy is offloaded to the simulated edu device's DMA engine (interrupt-driven).
            """)

    @Option(help: "Backend: posix (no hardware) or sim (edu DMA engine).") var backend: String = "posix"
    @Option(name: .customLong("size-mib"), help: "Image size in MiB.") var sizeMiB: Int = 8
    @Flag(help: "Keep the scratch directory.") var keep = false

    func validate() throws {
        guard ["posix", "sim"].contains(backend) else { throw ValidationError("the demo runs on posix or sim") }
        guard sizeMiB >= 1, sizeMiB <= 4096 else { throw ValidationError("--size-mib must be 1...4096") }
    }

    func run() throws {
        var template = Array("/tmp/husk-demo-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            printError("husk: cannot create a scratch directory in /tmp")
            throw ExitCode(2)
        }
        let dir = String(cBuffer: template)
        defer {
            if keep {
                print("husk demo: scratch directory kept: \(dir)")
            } else {
                unlink(dir + "/src.img")
                unlink(dir + "/dst.img")
                rmdir(dir)
            }
        }
        let src = dir + "/src.img", dst = dir + "/dst.img"
        let bytes = sizeMiB << 20
        var nonce: UInt64 = 0
        _ = husk_getrandom(&nonce, 8)
        try writeImage(src, bytes: bytes) { block, buf in
            // Block number and nonce at the start of every 4 KiB block, the
            // rest a cheap function of both: any misplaced block shows.
            buf.storeBytes(of: UInt64(block), as: UInt64.self)
            buf.storeBytes(of: nonce, toByteOffset: 8, as: UInt64.self)
            for i in stride(from: 16, to: 4096, by: 8) {
                buf.storeBytes(of: (UInt64(block) &* 0x9E37_79B9_7F4A_7C15) ^ nonce ^ UInt64(i), toByteOffset: i, as: UInt64.self)
            }
        }
        try writeImage(dst, bytes: bytes) { _, buf in memset(buf, 0, 4096) }
        print("husk demo: \(sizeMiB) MiB source image with nonce \(String(nonce, radix: 16)) in \(dir)")
        print(
            "husk demo: loading component blkcopy on the \(backend) backend\(backend == "sim" ? " with the edu driver (sim device edu)" : "")"
        )

        var options = try BackendOptions.parse(["--backend", backend] + (backend == "sim" ? ["--device", "edu"] : []))
        options.logLevel = "info"
        var components = [ComponentRegistry.builtIn(named: "blkcopy")!]
        if backend == "sim" { components.insert(ComponentRegistry.builtIn(named: "edu")!, at: 0) }
        let status = try hostComponents(
            components, parameters: ["blkcopy": ["src": src, "dst": dst]],
            backendOptions: options, once: true)
        guard status == 0 else {
            printError("husk demo: the copy failed (status \(status))")
            throw ExitCode(status)
        }
        if try filesEqual(src, dst) {
            print("husk demo: verified by the host: dst.img is byte-identical to src.img (\(bytes) bytes)")
        } else {
            printError("husk demo: MISMATCH: dst.img differs from src.img")
            throw ExitCode(1)
        }
    }
}

func writeImage(_ path: String, bytes: Int, fill: (Int, UnsafeMutableRawPointer) -> Void) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        printError("husk: cannot create \(path): \(String(cString: strerror(errno)))")
        throw ExitCode(2)
    }
    defer { close(fd) }
    let chunk = 1 << 20
    let buf = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
    defer { buf.deallocate() }
    var off = 0
    while off < bytes {
        let n = min(chunk, bytes - off)
        for b in stride(from: 0, to: n, by: 4096) { fill((off + b) / 4096, buf + b) }
        guard pwrite(fd, buf, n, off_t(off)) == n else {
            printError("husk: write \(path) failed")
            throw ExitCode(2)
        }
        off += n
    }
}

func filesEqual(_ a: String, _ b: String) throws -> Bool {
    let fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC)
    defer {
        if fa >= 0 { close(fa) }
        if fb >= 0 { close(fb) }
    }
    guard fa >= 0, fb >= 0 else { return false }
    let n = 1 << 20
    let ba = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 16),
        bb = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 16)
    defer {
        ba.deallocate()
        bb.deallocate()
    }
    while true {
        let ra = read(fa, ba, n), rb = read(fb, bb, n)
        if ra != rb { return false }
        if ra <= 0 { return ra == 0 }
        if memcmp(ba, bb, ra) != 0 { return false }
    }
}
