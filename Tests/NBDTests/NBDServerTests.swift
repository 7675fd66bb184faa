import Foundation
import NBDFrontend
import XCTest

/// Server life cycle and transmission details seen through a raw client.
final class NBDServerTests: XCTestCase {
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    func testRefusesALivePathAndReplacesAStaleSocket() throws {
        let f = try NBDFixture(self)
        let second = NBDServer(socketPath: f.socket, exports: { _ in nil }, exportNames: { [] })
        XCTAssertThrowsError(try second.start())
        // A stale socket file (nobody listening) is replaced.
        let stale = f.dir + "/stale.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in stale.utf8.enumerated() { p[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        close(fd)
        let third = NBDServer(socketPath: stale, exports: { _ in nil }, exportNames: { [] })
        XCTAssertNoThrow(try third.start())
        let c = try RawClient(stale)
        XCTAssertTrue(c.greet())
        third.shutdown()
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "shutdown removes the socket file")
    }

    func testGoReportsSizeAndFlags() throws {
        let f = try NBDFixture(self, sizeBytes: 4 << 20)
        let c = try RawClient(f.socket)
        guard case .success(let info) = c.go("disk0") else { return XCTFail("GO failed") }
        XCTAssertEqual(info.size, 4 << 20)
        XCTAssertEqual(info.flags & 1, 1, "HAS_FLAGS")
        XCTAssertEqual(info.flags & 2, 0, "not read-only")
        XCTAssertEqual(info.flags & 4, 4, "SEND_FLUSH (blkfile has a cache)")
        XCTAssertEqual(info.flags & 8, 8, "SEND_FUA")
        XCTAssertEqual(info.flags & 32, 0, "TRIM not advertised")
        XCTAssertEqual(info.flags & 64, 64, "WRITE_ZEROES")
        // The empty name is the default export.
        let d = try RawClient(f.socket)
        guard case .success(let di) = d.go("") else { return XCTFail("GO to the default export failed") }
        XCTAssertEqual(di.size, 4 << 20)
        let e = try RawClient(f.socket)
        guard case .failure(let err) = e.go("nope") else { return XCTFail("unknown export accepted") }
        XCTAssertEqual(err.value, 0x8000_0006)
    }

    /// Many requests sent before any reply is read: every one is answered
    /// once, matched by cookie, with the right data; errors map as documented.
    func testPipelinedRequestsAndErrors() throws {
        let f = try NBDFixture(self)
        let c = try goToTransmission(f)
        var sent = Data()
        var expected: [UInt64: UInt32] = [:]
        // 96 writes of 16 KiB: more than blkfile's queue (64), so some
        // submissions meet EAGAIN and are retried.
        for i in 0..<32 {
            for q in 0..<4 {
                let payload = [UInt8](repeating: UInt8(i + 1), count: 16 << 10)
                let cookie = UInt64(1000 + i * 4 + q)
                sent += c.request(type: 1, cookie: cookie, offset: UInt64(i) << 16 + UInt64(q) << 14, length: 16 << 10) + payload
                expected[cookie] = 0
            }
        }
        // 6 MiB with FUA: two disk pieces, then a flush.
        sent += c.request(type: 1, flags: 1, cookie: 5, offset: 2 << 20, length: 6 << 20) + [UInt8](repeating: 0xf6, count: 6 << 20)
        expected[5] = 0
        sent += c.request(type: 0, cookie: 1, offset: 8 << 20, length: 512)  // past the end
        expected[1] = 22
        sent += c.request(type: 0, cookie: 2, offset: 100, length: 512)  // unaligned
        expected[2] = 22
        // Writes reaching past the end: ENOSPC, as the NBD protocol asks (the payload is consumed).
        sent += c.request(type: 1, cookie: 6, offset: 8 << 20, length: 512) + [UInt8](repeating: 7, count: 512)
        expected[6] = 28
        sent += c.request(type: 6, cookie: 7, offset: (8 << 20) - 512, length: 1024)  // WRITE_ZEROES
        expected[7] = 28
        sent += c.request(type: 4, cookie: 3, offset: 0, length: 512)  // TRIM: not advertised
        expected[3] = 22
        sent += c.request(type: 3, cookie: 4, offset: 0, length: 0)  // FLUSH
        expected[4] = 0
        XCTAssertTrue(c.send([UInt8](sent)))
        for _ in 0..<expected.count {
            guard let r = c.simpleReply() else { return XCTFail("reply missing: \(f.log)") }
            XCTAssertEqual(expected.removeValue(forKey: r.cookie), r.error, "cookie \(r.cookie)")
        }
        XCTAssertTrue(expected.isEmpty)
        // Reads of what was written, pipelined too, 8 MiB in 2 pieces included.
        var reads = Data()
        for i in 0..<32 { reads += c.request(type: 0, cookie: UInt64(i), offset: UInt64(i) << 16, length: 64 << 10) }
        reads += c.request(type: 0, cookie: 99, offset: 0, length: 8 << 20)
        XCTAssertTrue(c.send([UInt8](reads)))
        for _ in 0..<33 {
            guard let r = c.simpleReply() else { return XCTFail("reply missing") }
            XCTAssertEqual(r.error, 0)
            if r.cookie == 99 {
                guard let all = c.read(8 << 20) else { return XCTFail("data missing") }
                for i in 0..<32 { XCTAssertTrue(all[(i << 16)..<((i + 1) << 16)].allSatisfy { $0 == UInt8(i + 1) }) }
                XCTAssertTrue(all[(32 << 16)..<(2 << 20)].allSatisfy { $0 == 0 })
                XCTAssertTrue(all[(2 << 20)...].allSatisfy { $0 == 0xf6 })
            } else {
                guard let data = c.read(64 << 10) else { return XCTFail("data missing") }
                XCTAssertTrue(data.allSatisfy { $0 == UInt8(r.cookie + 1) }, "cookie \(r.cookie)")
            }
        }
        // 200 small reads at once: past blkfile's queue depth (64), so the
        // server meets EAGAIN and retries; every one is still answered.
        var small = Data()
        for i in 0..<200 { small += c.request(type: 0, cookie: UInt64(5000 + i), offset: UInt64(i % 32) << 16, length: 4096) }
        XCTAssertTrue(c.send([UInt8](small)))
        var seen = Set<UInt64>()
        for _ in 0..<200 {
            guard let r = c.simpleReply(), r.error == 0, let data = c.read(4096) else { return XCTFail("reply missing") }
            XCTAssertTrue(seen.insert(r.cookie).inserted, "cookie \(r.cookie) answered twice")
            XCTAssertTrue(data.allSatisfy { $0 == UInt8((r.cookie - 5000) % 32 + 1) }, "cookie \(r.cookie)")
        }
        XCTAssertEqual(seen, Set((0..<200).map { UInt64(5000 + $0) }))
        // NBD_CMD_DISC: the server closes after answering everything.
        c.send(c.request(type: 2, cookie: 6, offset: 0, length: 0))
        XCTAssertTrue(c.closedByServer())
    }

    func testWriteOnReadOnlyExportIsEPERM() throws {
        let f = try NBDFixture(self, serverReadOnly: true)
        let c = try RawClient(f.socket)
        guard case .success(let info) = c.go("disk0") else { return XCTFail("GO failed") }
        XCTAssertEqual(info.flags & 2, 2, "READ_ONLY")
        c.send(c.request(type: 1, cookie: 9, offset: 0, length: 4096) + [UInt8](repeating: 1, count: 4096))
        let r = c.simpleReply()
        XCTAssertEqual(r?.cookie, 9)
        XCTAssertEqual(r?.error, 1)
        c.send(c.request(type: 6, cookie: 10, offset: 0, length: 4096))
        XCTAssertEqual(c.simpleReply()?.error, 1)
    }

    /// shutdown waits for connections and leaves nothing behind.
    func testShutdownClosesConnections() throws {
        let f = try NBDFixture(self)
        let c = try goToTransmission(f)
        c.send(c.request(type: 0, cookie: 1, offset: 0, length: 4096))
        XCTAssertEqual(c.simpleReply()?.error, 0)
        _ = c.read(4096)
        f.server.shutdown()
        XCTAssertTrue(c.closedByServer())
        XCTAssertEqual(f.server.connectionCount, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.socket))
    }

    private func goToTransmission(_ f: NBDFixture) throws -> RawClient {
        let c = try RawClient(f.socket)
        guard case .success = c.go("disk0") else {
            XCTFail("GO failed: \(f.log)")
            throw XCTSkip("no transmission")
        }
        return c
    }
}
