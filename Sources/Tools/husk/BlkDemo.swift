import ArgumentParser
import BlockClient
import DiskPattern
import Glibc
import RPCWire

/// `husk blk demo`: the README's main command. A real block server process
/// serves a scratch image; a client writes, flushes and reads back through
/// it, the server is killed and restarted, and the host checks the file.
struct BlkDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Serve a scratch image with the block server and show writes and reads through it (the embedded default).",
        discussion: """
            Starts `husk blk serve --image` on a generated image as a separate process (the blkfile \
            component on the posix backend, no hardware), writes a pattern that encodes each block's \
            offset and a per-run nonce through the RPC client (shared memory), flushes, reads it back, \
            SIGKILLs the server, restarts it and reads again (flushed data must survive), then \
            compares the image file itself. Exit status 0 only if every check passes.
            """)
    @Option(name: .customLong("size-mib"), help: "Image size in MiB.") var sizeMiB: Int = 16
    @Flag(help: "Keep the scratch directory (image and server log).") var keep = false

    func validate() throws {
        guard sizeMiB >= 1, sizeMiB <= 4096 else { throw ValidationError("--size-mib must be 1...4096") }
    }

    func run() throws {
        let dir = try makeScratchDirectory(prefix: "husk-blk")
        defer { if keep { print("scratch directory kept: \(dir)") } else { removeScratchDirectory(dir) } }
        let image = dir + "/disk.img", socket = dir + "/blk.sock", log = dir + "/server.log"
        let bytes = sizeMiB << 20
        let fd = Glibc.open(image, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0, ftruncate(fd, off_t(bytes)) == 0 else { throw fail("cannot create \(image): \(String(cString: strerror(errno)))") }
        close(fd)
        let nonce = UInt64.random(in: 1...UInt64.max)
        print("image \(image): \(sizeMiB) MiB, pattern nonce \(hex(nonce))")

        let serve = ["blk", "serve", "--image", image, "--socket", socket]
        var server = try ChildServer(arguments: serve, socket: socket, logPath: log)
        print("1. server: husk \(serve.joined(separator: " ")) (pid \(server.pid))")

        var dev = try open(socket)
        print(
            "2. client: \(dev.name): \(dev.blockCount) blocks of \(dev.blockSize) bytes, \(dev.readOnly ? "read-only" : "read-write")\(dev.features & 1 != 0 ? ", flush" : "")"
        )

        let pattern = DiskPattern.bytes(bytes, at: 0, key: nonce)
        var t0 = monotonicSeconds()
        try rpc { () throws(RPCError) in try dev.write(offset: 0, pattern) }
        try rpc { () throws(RPCError) in try dev.flush() }
        print("3. wrote \(sizeMiB) MiB through the server and flushed: \(rate(bytes, monotonicSeconds() - t0))")

        t0 = monotonicSeconds()
        var back = try rpc { () throws(RPCError) in try dev.read(offset: 0, length: bytes) }
        try check(back == pattern, "4. read back \(sizeMiB) MiB: \(rate(bytes, monotonicSeconds() - t0))")

        dev.close()
        server.kill9()
        server = try ChildServer(arguments: serve, socket: socket, logPath: log)
        dev = try open(socket)
        back = try rpc { () throws(RPCError) in try dev.read(offset: 0, length: bytes) }
        try check(back == pattern, "5. SIGKILLed the server after the flush, restarted it (pid \(server.pid)): the data is all there")

        dev.close()
        let status = server.stop()
        try check(status == 0, "6. SIGTERM: the server shut down cleanly (exit status \(status))")
        try check(
            verifyPatternFile(path: image, bytes: UInt64(bytes), nonce: nonce, second: false, direct: false).matches,
            "7. the host reads the image file itself: identical to what the client wrote")
        print("demo: OK")
    }

    private func open(_ socket: String) throws -> BlockDevice {
        try rpc { () throws(RPCError) in try BlockServerClient(socket: socket).open("disk0", writable: true) }
    }

    private func rpc<T>(_ body: () throws(RPCError) -> T) throws -> T {
        do throws(RPCError) { return try body() } catch { throw fail("RPC failed: \(error)") }
    }

    private func check(_ ok: Bool, _ line: String) throws {
        print(line + (ok ? "" : "  <-- FAILED"))
        if !ok { throw fail("check failed") }
    }

    private func fail(_ why: String) -> Error {
        printError("husk blk demo: \(why)")
        return ExitCode(1)
    }
}

private func rate(_ bytes: Int, _ seconds: Double) -> String {
    "\(Int((Double(bytes) / 1_048_576 / max(seconds, 1e-9)).rounded())) MiB/s"
}

private func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
