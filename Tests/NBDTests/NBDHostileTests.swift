import Foundation
import XCTest

/// Malformed and hostile clients: each must lose only its own connection,
/// and the server must go on serving a well-behaved client (qemu-io).
final class NBDHostileTests: XCTestCase {
    override func setUpWithError() throws {
        signal(SIGPIPE, SIG_IGN)
        guard Tool.available("qemu-io") else { throw XCTSkip("qemu-utils not installed (run scripts/setup.sh)") }
    }

    private func assertStillServes(_ f: NBDFixture, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Tool.qemuIO(f.uri(), ["write -P 0x5a 0 64k", "read -P 0x5a 0 64k"])
        XCTAssertTrue(r.qemuIOClean, r.output + "\n" + f.log, file: file, line: line)
    }

    private func goToTransmission(_ f: NBDFixture) throws -> RawClient {
        let c = try RawClient(f.socket)
        guard case .success = c.go("disk0") else {
            XCTFail("GO failed")
            throw XCTSkip("no transmission")
        }
        return c
    }

    func testGarbageInsteadOfClientFlags() throws {
        let f = try NBDFixture(self)
        let c = try RawClient(f.socket)
        XCTAssertNotNil(c.read(18))
        c.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertTrue(c.closedByServer())
        try assertStillServes(f)
    }

    func testTruncatedHandshake() throws {
        let f = try NBDFixture(self)
        do {
            let c = try RawClient(f.socket)
            XCTAssertTrue(c.greet())
            c.send(RawClient.be(RawClient.ihaveopt, 8) + [0, 0])  // half an option header, then gone
        }
        XCTAssertTrue(f.waitIdle(), f.log)
        try assertStillServes(f)
    }

    func testOptionWithAHugeLength() throws {
        let f = try NBDFixture(self)
        let c = try RawClient(f.socket)
        XCTAssertTrue(c.greet())
        c.send(RawClient.be(RawClient.ihaveopt, 8) + RawClient.be(7, 4) + RawClient.be(0xffff_fff0, 4) + [1, 2, 3])
        XCTAssertTrue(c.closedByServer())
        try assertStillServes(f)
    }

    func testUnknownOptionsAndStructuredRepliesAreUnsupported() throws {
        let f = try NBDFixture(self)
        let c = try RawClient(f.socket)
        XCTAssertTrue(c.greet())
        XCTAssertTrue(c.option(8, []))
        XCTAssertEqual(c.optionReply()?.type, 0x8000_0001)
        XCTAssertTrue(c.option(0x1234, [9, 9, 9]))
        XCTAssertEqual(c.optionReply()?.type, 0x8000_0001)
        // NBD_OPT_LIST names the disk.
        XCTAssertTrue(c.option(3, []))
        let server = c.optionReply()
        XCTAssertEqual(server?.type, 2)
        XCTAssertEqual(server.map { Array($0.data.dropFirst(4)) }, Array("disk0".utf8))
        XCTAssertEqual(c.optionReply()?.type, 1)
        // NBD_OPT_ABORT: acknowledged, then closed.
        XCTAssertTrue(c.option(2, []))
        XCTAssertEqual(c.optionReply()?.type, 1)
        XCTAssertTrue(c.closedByServer())
    }

    func testRequestWithABadMagic() throws {
        let f = try NBDFixture(self)
        let c = try goToTransmission(f)
        c.send(c.request(type: 0, cookie: 1, offset: 0, length: 512, magic: 0xdead_beef))
        XCTAssertTrue(c.closedByServer())
        try assertStillServes(f)
    }

    func testWriteOverTheLimitClosesTheConnection() throws {
        let f = try NBDFixture(self)
        let c = try goToTransmission(f)
        c.send(c.request(type: 1, cookie: 1, offset: 0, length: 0xffff_0000))
        c.send([UInt8](repeating: 0xcc, count: 1 << 16))
        XCTAssertTrue(c.closedByServer())
        XCTAssertTrue(try f.imageBytes().allSatisfy { $0 == 0 }, "nothing may be written")
        try assertStillServes(f)
    }

    /// Slightly over 32 MiB: the payload is consumed and refused with
    /// EINVAL; the connection carries on.
    func testWriteJustOverTheLimitIsRefusedWithEINVAL() throws {
        let f = try NBDFixture(self)
        let c = try goToTransmission(f)
        let length = (32 << 20) + 512
        XCTAssertTrue(c.send(c.request(type: 1, cookie: 77, offset: 0, length: UInt32(length))))
        XCTAssertTrue(c.send([UInt8](repeating: 0xcc, count: length)))
        let reply = c.simpleReply()
        XCTAssertEqual(reply?.error, 22)
        XCTAssertEqual(reply?.cookie, 77)
        // Still in sync: a read answers.
        c.send(c.request(type: 0, cookie: 78, offset: 0, length: 512))
        XCTAssertEqual(c.simpleReply()?.cookie, 78)
        XCTAssertNotNil(c.read(512))
    }

    /// Random bytes into fresh connections after a good handshake, for a
    /// bounded time; sometimes behind a valid request magic so the command
    /// decoding is reached. The server must close or answer each, and keep
    /// serving.
    func testRandomBytesAfterTheHandshake() throws {
        let f = try NBDFixture(self)
        var rng = SystemRandomNumberGenerator()
        let end = Date().addingTimeInterval(4)
        var rounds = 0
        while Date() < end && rounds < 300 {
            rounds += 1
            let c = try RawClient(f.socket, timeoutSeconds: 5)
            guard case .success = c.go("disk0") else {
                XCTFail("GO failed: \(f.log)")
                break
            }
            var bytes = (0..<Int.random(in: 1...2048, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if rounds % 2 == 0 { bytes = [0x25, 0x60, 0x95, 0x13] + bytes }
            c.send(bytes)
            c.shutdownWrite()
            XCTAssertTrue(c.closedByServer(), "round \(rounds): the server neither closed nor finished")
        }
        XCTAssertTrue(f.waitIdle(), f.log)
        try assertStillServes(f)
    }
}
