import BlockClient
import BlockServer
import DiskPattern
import Foundation
import Glibc
import Glue
import HuskHost
import RPCInterfaces
import RPCServer
import RPCWire
import SimBackend
import XCTest

/// The block server over the virtio_blk driver on the sim device, in this
/// process (so the test can reach the device's fault injection), with real
/// sockets and the real RPC client.
final class BlockServerDeviceTests: XCTestCase {
    func testDeviceErrorsReachTheClientAsEIOAndTheServerKeepsServing() throws {
        let dir = try rpcScratch(self)
        let backend = try SimBackend(specs: ["virtio-blk:size=4M"])
        let host = ComponentHost(backend: backend)
        defer { host.shutdown() }
        host.load([try XCTUnwrap(ComponentRegistry.builtIn(named: "virtio_blk"))])
        XCTAssertEqual(host.refused.map(\.reason), [])
        let server = RPCServer(
            configuration: RPCServer.Configuration(name: "blk-test"),
            handlers: [BlkDispatcher(BlockService())])
        defer { server.shutdown(deadline: 1) }
        let socket = dir + "/blk.sock"
        try server.listen(path: socket)

        let dev = try BlockServerClient(socket: socket).open("vblk0", writable: true)
        defer { dev.close() }
        let p = DiskPattern.bytes(64 << 10, at: 0, key: 42)
        try dev.write(offset: 0, p)
        try dev.flush()

        let sim = backend.simDevices[0] as! SimVirtioBlk
        sim.injectIOErrors(count: 1)
        XCTAssertThrowsError(try dev.read(offset: 0, length: 4096)) { e in
            XCTAssertEqual((e as? RPCError)?.status, RPCStatus.io, "\(e)")
        }
        // One request failed, the device and the connection carry on.
        assertSameBytes(try dev.read(offset: 0, length: p.count), p)
        sim.injectIOErrors(count: 1)
        XCTAssertThrowsError(try dev.write(offset: 8192, [UInt8](repeating: 1, count: 512))) { e in
            XCTAssertEqual((e as? RPCError)?.status, RPCStatus.io, "\(e)")
        }
        sim.injectIOErrors(count: 1)
        XCTAssertThrowsError(try dev.flush()) { e in XCTAssertEqual((e as? RPCError)?.status, RPCStatus.io, "\(e)") }
        try dev.flush()
        // A batch reports the failing entry alone.
        sim.injectIOErrors(count: 1)
        let st = try dev.blk.batch(region: dev.window.ref(), requests: [1, 0, 0, 4096]).statuses
        XCTAssertEqual(st, [UInt32(RPCStatus.io)])
        XCTAssertEqual(try dev.blk.batch(region: dev.window.ref(), requests: [1, 0, 0, 4096]).statuses, [0])
    }
}

/// The NBD frontend of `husk blk serve`: qemu-io (nobody here wrote it)
/// reads what the RPC client wrote, and the other way round.
final class BlockServerNBDTests: XCTestCase {
    func testQemuIOAndTheRPCClientSeeEachOthersWrites() throws {
        guard let qemuIO = installedTool("qemu-io") else {
            throw XCTSkip("qemu-io is missing (Debian qemu-utils; scripts/setup.sh installs it)")
        }
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 4 << 20)
        let nbd = "\(dir)/nbd.sock"
        let server = try BlockServerProcess(self, dir: dir, image: image.path, extra: ["--nbd-socket", nbd, "--mode", "666"])
        // --mode applies to both sockets, so another user can reach either.
        for path in [server.socket, nbd] {
            var st = stat()
            XCTAssertEqual(lstat(path, &st), 0, path)
            XCTAssertEqual(st.st_mode & 0o777, 0o666, "permissions of \(path)")
        }
        let uri = "nbd+unix:///disk0?socket=\(nbd)"
        func qemu(_ tag: String, _ cmds: [String], status: Int32 = 0) throws -> String {
            let c = try ChildProcess(qemuIO, ["-f", "raw", uri] + cmds.flatMap { ["-c", $0] }, dir: dir, tag: tag)
            XCTAssertEqual(c.wait(timeout: 60), status, c.stderr)
            return c.stdout
        }

        // The RPC client writes 0x3c over 64 KiB at 1 MiB; qemu-io verifies it through NBD.
        let dev = try server.open()
        try dev.write(offset: 1 << 20, [UInt8](repeating: 0x3c, count: 64 << 10))
        try dev.flush()
        var out = try qemu("qemu-read", ["read -P 0x3c 1048576 65536"])
        XCTAssertFalse(out.contains("Pattern verification failed"), out)
        XCTAssertTrue(out.contains("read 65536/65536 bytes"), out)
        // A wrong pattern fails there, so the check above can fail.
        out = try qemu("qemu-read-wrong", ["read -P 0x3d 1048576 512"], status: 1)
        XCTAssertTrue(out.contains("Pattern verification failed"), out)

        // qemu-io writes 0xe1 over 128 KiB at 2 MiB and flushes; the RPC client reads it.
        out = try qemu("qemu-write", ["write -P 0xe1 2097152 131072", "flush"])
        XCTAssertTrue(out.contains("wrote 131072/131072 bytes"), out)
        assertSameBytes(try dev.read(offset: 2 << 20, length: 128 << 10), [UInt8](repeating: 0xe1, count: 128 << 10))
        dev.close()
        XCTAssertEqual(server.stop(), 0, server.child.stderr)
        // The server dropped its privileges (the default), yet both socket files are gone.
        XCTAssertFalse(FileManager.default.fileExists(atPath: nbd), "the NBD socket outlived SIGTERM")
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socket), "the RPC socket outlived SIGTERM")
        assertSameBytes(image.contents(offset: 2 << 20, count: 128 << 10), [UInt8](repeating: 0xe1, count: 128 << 10))
    }
}
