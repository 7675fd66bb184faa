import BlockClient
import DiskPattern
import Foundation
import Glibc
import Platform
import RPCInterfaces
import RPCWire
import XCTest

/// `husk blk serve --image` on a scratch image: the file component behind
/// the block server, over real sockets, in a real server process.
final class BlockServerProcess: @unchecked Sendable {
    // @unchecked: used from the test's thread only (and its teardown).
    let child: ChildProcess
    let socket: String

    init(_ test: XCTestCase, dir: String, image: String, tag: String = "blk", extra: [String] = []) throws {
        socket = "\(dir)/blk.sock"
        child = try ChildProcess.huskServer(
            test, ["blk", "serve", "--image", image, "--socket", socket] + extra,
            dir: dir, tag: tag)
    }

    func open(_ name: String = "disk0", writable: Bool = true) throws -> BlockDevice {
        try BlockServerClient(socket: socket).open(name, writable: writable)
    }

    /// SIGTERM, and the exit status (nil: still running after 20 s).
    func stop() -> Int32? {
        child.signal(SIGTERM)
        return child.wait(timeout: 20)
    }
}

/// Byte arrays compared with a short message (XCTAssertEqual would print
/// megabytes): lengths, and the first differing offset.
func assertSameBytes(
    _ got: @autoclosure () throws -> [UInt8], _ want: [UInt8], _ what: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let g: [UInt8]
    do { g = try got() } catch { return XCTFail("\(what): \(error)", file: file, line: line) }
    if g == want { return }
    if g.count != want.count { return XCTFail("\(what): \(g.count) bytes, expected \(want.count)", file: file, line: line) }
    let i = g.indices.first { g[$0] != want[$0] }!
    XCTFail("\(what): first difference at byte \(i) (got \(g[i]), expected \(want[i]))", file: file, line: line)
}

final class BlockServerTests: XCTestCase {
    func testPatternsSurviveRestartAndSigkillAfterFlush() throws {
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 8 << 20)
        var server = try BlockServerProcess(self, dir: dir, image: image.path)
        var dev = try server.open()
        XCTAssertEqual(dev.blockSize, 512)
        XCTAssertEqual(dev.blockCount, 16384)
        XCTAssertFalse(dev.readOnly)
        XCTAssertNotEqual(dev.features & 1, 0, "flush feature")

        // 3 MiB at an odd block (crosses the 4 MiB window and the provider's
        // pieces), plus scattered single blocks.
        let a = DiskPattern.bytes(3 << 20, at: 512 * 7, key: 0xA11CE)
        try dev.write(offset: 512 * 7, a)
        for blk: UInt64 in [0, 1, 9999, 16383] {
            try dev.write(offset: blk * 512, DiskPattern.bytes(512, at: blk * 512, key: 0xB0B))
        }
        try dev.flush()
        assertSameBytes(try dev.read(offset: 512 * 7, length: a.count), a)
        XCTAssertEqual(try dev.read(offset: 16383 * 512, length: 512), DiskPattern.bytes(512, at: 16383 * 512, key: 0xB0B))
        dev.close()

        // Clean restart: everything is still there.
        XCTAssertEqual(server.stop(), 0, server.child.stderr)
        server = try BlockServerProcess(self, dir: dir, image: image.path, tag: "blk2")
        dev = try server.open()
        assertSameBytes(try dev.read(offset: 512 * 7, length: a.count), a)
        assertSameBytes(try dev.read(offset: 9999 * 512, length: 512), DiskPattern.bytes(512, at: 9999 * 512, key: 0xB0B))

        // Write, flush, SIGKILL: the flushed data is in the file and served again.
        let b = DiskPattern.bytes(1 << 20, at: 1 << 20, key: 0xDEAD)
        try dev.write(offset: 1 << 20, b)
        try dev.flush()
        server.child.kill9()
        assertSameBytes(image.contents(offset: 1 << 20, count: 1 << 20), b)
        server = try BlockServerProcess(self, dir: dir, image: image.path, tag: "blk3")
        dev = try server.open()
        assertSameBytes(try dev.read(offset: 1 << 20, length: 1 << 20), b)
        dev.close()
    }

    func testConcurrentClients() throws {
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 16 << 20)
        let server = try BlockServerProcess(self, dir: dir, image: image.path)
        let socket = server.socket
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                let dev = try BlockServerClient(socket: socket).open("disk0", writable: true, window: 256 << 10)
                defer { dev.close() }
                let base = UInt64(i) << 21  // 2 MiB each
                for round in 0..<16 {
                    let off = base + UInt64(round) * (128 << 10)
                    let p = DiskPattern.bytes(128 << 10, at: off, key: UInt64(i * 100 + round))
                    try dev.write(offset: off, p)
                    if try dev.read(offset: off, length: p.count) != p {
                        failures.withLock { $0.append("client \(i) round \(round): mismatch") }
                    }
                }
                try dev.flush()
            } catch { failures.withLock { $0.append("client \(i): \(error)") } }
        }
        XCTAssertEqual(failures.get(), [])
        // Every client's last region is in the file.
        for i in 0..<8 {
            let off = (UInt64(i) << 21) + 15 * (128 << 10)
            assertSameBytes(
                image.contents(offset: Int(off), count: 128 << 10),
                DiskPattern.bytes(128 << 10, at: off, key: UInt64(i * 100 + 15)))
        }
    }

    func testErrorMatrix() throws {
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 1 << 20)
        let server = try BlockServerProcess(self, dir: dir, image: image.path)
        let client = try BlockServerClient(socket: server.socket)
        XCTAssertEqual(try client.devices(), ["disk0"])
        func status(_ body: () throws -> Void) -> Int32 {
            do {
                try body()
                return 0
            } catch let e as RPCError { return e.status } catch { return -1 }
        }
        XCTAssertEqual(status { _ = try client.open("nope", writable: false) }, RPCStatus.noent)
        XCTAssertEqual(status { _ = try BlkClient(client.rpc).open(name: "disk0", mode: 7) }, RPCStatus.inval)
        // Device operations on the server's own connection are not a device.
        XCTAssertEqual(status { _ = try BlkClient(client.rpc).getStatus() }, RPCStatus.badf)

        let dev = try client.open("disk0", writable: true)
        XCTAssertEqual(status { try dev.write(offset: 100, [UInt8](repeating: 1, count: 512)) }, RPCStatus.inval, "unaligned offset")
        XCTAssertEqual(status { try dev.write(offset: 0, [UInt8](repeating: 1, count: 100)) }, RPCStatus.inval, "partial block")
        XCTAssertEqual(status { _ = try dev.read(offset: 1 << 20, length: 512) }, RPCStatus.inval, "past the end")
        XCTAssertEqual(status { _ = try dev.read(offset: (1 << 20) - 512, length: 1024) }, RPCStatus.inval, "crossing the end")
        XCTAssertEqual(
            status { _ = try dev.blk.read(offset: 0, buffer: SharedMemoryRef(id: 99, offset: 0, length: 512)) }, RPCStatus.inval,
            "unknown shm")
        XCTAssertEqual(
            status { _ = try dev.blk.read(offset: 0, buffer: dev.window.ref(offset: UInt64(dev.window.size) - 512, length: 1024)) },
            RPCStatus.fault, "outside the shm window")
        XCTAssertEqual(status { _ = try dev.read(offset: 0, length: 512) }, 0, "the device stays usable")

        // Read-only open of a read-write device.
        let ro = try client.open("disk0", writable: false)
        XCTAssertEqual(status { try ro.write(offset: 0, [UInt8](repeating: 1, count: 512)) }, RPCStatus.rofs)
        XCTAssertEqual(status { _ = try ro.read(offset: 0, length: 512) }, 0)
        // Closed handle.
        ro.close()
        XCTAssertEqual(
            status {
                _ = try dev.blk.close()
                _ = try dev.blk.getStatus()
            }, RPCStatus.badf)

        // A read-only server refuses read-write opens.
        XCTAssertEqual(server.stop(), 0)
        let roServer = try BlockServerProcess(self, dir: dir, image: image.path, tag: "ro", extra: ["--read-only"])
        XCTAssertEqual(status { _ = try roServer.open(writable: true) }, RPCStatus.rofs)
        let r = try roServer.open(writable: false)
        XCTAssertTrue(r.readOnly)
        XCTAssertEqual(try r.read(offset: 0, length: 512).count, 512)
    }

    func testBatchRunsEachRequestWithItsOwnStatus() throws {
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 1 << 20)
        let server = try BlockServerProcess(self, dir: dir, image: image.path)
        let dev = try server.open()
        let p = DiskPattern.bytes(8192, at: 0, key: 7)
        dev.window.base.copyMemory(from: p, byteCount: p.count)
        let q: [UInt64] = [
            2, 0, 0, 4096,  // write the first half at 0
            2, 65536, 4096, 4096,  // write the second half at 64 KiB
            3, 0, 0, 0,  // flush
            1, 0, 16384, 4096,  // read back into the window
            1, 65536, 20480, 4096,
            1, 100, 0, 512,  // unaligned: EINVAL
            9, 0, 0, 512,  // unknown op: EINVAL
            1, 0, UInt64(dev.window.size) - 256, 512  // outside the window: EFAULT
        ]
        let st = try dev.blk.batch(region: dev.window.ref(), requests: q).statuses
        XCTAssertEqual(st, [0, 0, 0, 0, 0, UInt32(RPCStatus.inval), UInt32(RPCStatus.inval), UInt32(RPCStatus.fault)])
        XCTAssertEqual([UInt8](UnsafeRawBufferPointer(start: dev.window.base + 16384, count: 8192)), p)
        XCTAssertEqual(image.contents(offset: 65536, count: 4096), Array(p[4096...]))
        XCTAssertEqual(Array(try dev.read(offset: 0, length: 4096)), Array(p[0..<4096]))
    }

    func testPolicyDeniesWritesPerOperation() throws {
        let dir = try rpcScratch(self)
        try Husk.requireRoot()
        let image = TempImage(bytes: 1 << 20)
        let policy = "\(dir)/policy"
        try "default allow\nallow blk.write uid=0\nallow blk.flush uid=0\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let server = try BlockServerProcess(self, dir: dir, image: image.path, extra: ["--mode", "666", "--policy", policy])
        func asNobody(_ args: [String]) throws -> ToolResult {
            try Husk.run(["blk"] + args + ["--socket", server.socket], timeout: 30, via: Husk.nobody)
        }
        // nobody may read (allowed by default) ...
        let read = try asNobody(["read", "--offset", "0", "--length", "512"])
        XCTAssertEqual(read.status, 0, read.stderr)
        // ... but not write: EACCES, logged by the server, connection usable.
        let write = try asNobody(["write", "--offset", "0"])
        XCTAssertNotEqual(write.status, 0)
        let dev = try server.open()
        try dev.write(offset: 0, [UInt8](repeating: 0x5A, count: 512))
        XCTAssertEqual(try dev.read(offset: 0, length: 512), [UInt8](repeating: 0x5A, count: 512))
        // The write of an empty stdin sends no write; drive a real one as nobody.
        let nobody = (Husk.nobody + [Husk.binary]).joined(separator: " ")
        let c = try runTool(
            "/bin/sh", ["-c", "head -c 512 /dev/zero | \(nobody) blk write --socket \(server.socket) --offset 0"], timeout: 30)
        XCTAssertNotEqual(c.status, 0)
        XCTAssertTrue(c.stderr.contains("EACCES"), c.stderr)
        XCTAssertTrue(server.child.stderr.contains("blk.write denied to uid 65534"), server.child.stderr)
        XCTAssertEqual(try dev.read(offset: 0, length: 512), [UInt8](repeating: 0x5A, count: 512), "nothing written by nobody")
    }
}
