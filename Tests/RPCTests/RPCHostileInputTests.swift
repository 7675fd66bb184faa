import Foundation
import Glibc
import Platform
import RPCClient
import RPCEcho
import RPCSys
import RPCTransport
import RPCWire
import XCTest

/// Malformed and hostile messages from raw SOCK_SEQPACKET sockets against a
/// real server process, while a well-behaved client stays connected.
final class RPCHostileInputTests: XCTestCase {
    var server: EchoServerProcess!
    var good: EchoSession!

    override func setUpWithError() throws {
        let dir = try rpcScratch(self)
        server = try EchoServerProcess(self, dir: dir)
        good = try server.connect()
    }

    /// The other client is still served, and the server holds no stray descriptors.
    func assertOthersUnaffected(_ what: String, baseline: Int? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try good.ping(), what, file: file, line: line)
        XCTAssertEqual(try? good.echo(Array(what.utf8)), Array(what.utf8), what, file: file, line: line)
        if let baseline {
            XCTAssertTrue(
                waitUntil(10) { server.fdCount == baseline }, "\(what): server fds \(server.fdCount), baseline \(baseline)", file: file,
                line: line)
        }
    }

    func testGarbageAndShortMessagesCloseTheConnection() throws {
        let raw = try RawConnection(path: server.socket)
        XCTAssertTrue(raw.send(Array("this is not a husk message".utf8)))
        XCTAssertEqual(raw.receive(), .closed, "garbage with bad magic: closed without reply")
        assertOthersUnaffected("garbage")

        let raw2 = try RawConnection(path: server.socket)
        XCTAssertTrue(raw2.send([0x48, 0x55, 0x53]))
        XCTAssertEqual(raw2.receive(), .closed, "3 bytes")
        assertOthersUnaffected("short")

        // Truncated header: magic and a readable request id, 30 of 40 bytes.
        let raw3 = try RawConnection(path: server.socket)
        let h = controlHeader(.hello, requestID: 77).encoded()
        XCTAssertTrue(raw3.send(Array(h.prefix(30))))
        guard case .header(let r) = raw3.receive() else { return XCTFail("truncated header: expected EPROTO reply") }
        XCTAssertEqual(r.status, RPCStatus.proto)
        XCTAssertEqual(r.requestID, 77)
        XCTAssertEqual(raw3.receive(), .closed)
        assertOthersUnaffected("truncated")
    }

    func testBadMagicVersionReservedAndDeclaredLength() throws {
        let hello = controlHeader(.hello, requestID: 5)
        var badMagic = header(hello)
        badMagic[0] = 0x00
        var badVersion = header(hello)
        badVersion[4] = 9
        var reserved = header(hello)
        reserved[36] = 1
        var oversized = header(hello)
        oversized[28] = 0xFF
        oversized[29] = 0xFF
        oversized[30] = 0xFF
        oversized[31] = 0x7F
        var badFlags = header(hello)
        badFlags[6] = 0x80
        var badVersionPing = header(controlHeader(.ping, requestID: 5))
        badVersionPing[4] = 9
        // A HELLO in another version is a negotiation failure (EPROTONOSUPPORT, §4); any other message
        // with a bad version is a protocol error.
        for (name, msg, replied, status) in [
            ("bad magic", badMagic, false, 0), ("bad version", badVersion, true, RPCStatus.protonosupport),
            ("bad version, not HELLO", badVersionPing, true, RPCStatus.proto),
            ("reserved", reserved, true, RPCStatus.proto),
            ("oversized declared length", oversized, true, RPCStatus.proto),
            ("unknown flag", badFlags, true, RPCStatus.proto)
        ] {
            let raw = try RawConnection(path: server.socket)
            XCTAssertTrue(raw.send(msg), name)
            if replied {
                guard case .header(let r) = raw.receive() else {
                    XCTFail("\(name): expected a reply")
                    continue
                }
                XCTAssertEqual(r.status, status, name)
                XCTAssertEqual(r.requestID, 5, name)
                XCTAssertEqual(r.version, RPCHeader.protocolVersion, "\(name): the reply names the server's version")
            }
            XCTAssertEqual(raw.receive(), .closed, name)
            assertOthersUnaffected(name)
        }
    }

    func testMessageLargerThanTheLimitIsAProtocolError() throws {
        let raw = try RawConnection(path: server.socket)
        XCTAssertEqual(raw.hello().isHeader, true)
        let payload = [UInt8](repeating: 1, count: 140_000)  // > 131072 with the header
        var w = PayloadWriter()
        w.bytes(payload)
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 2, requestID: 8), payload: w.bytes)))
        guard case .header(let r) = raw.receive() else { return XCTFail("expected EPROTO") }
        XCTAssertEqual(r.status, RPCStatus.proto)
        XCTAssertEqual(raw.receive(), .closed)
        assertOthersUnaffected("too large")
    }

    func testDescriptorCountMismatchClosesEveryDescriptor() throws {
        usleep(100_000)
        let raw = try RawConnection(path: server.socket)
        XCTAssertEqual(raw.hello().isHeader, true)
        usleep(100_000)
        let baseline = server.fdCount
        var p: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&p), 0)
        defer {
            close(p[0])
            close(p[1])
        }
        // Announce 1 descriptor, attach 2.
        let msg = header(controlHeader(.registerShm, requestID: 11, fdCount: 1))
        XCTAssertTrue(raw.send(msg, fds: [p[0], p[1]]))
        guard case .header(let r) = raw.receive() else { return XCTFail("expected EPROTO") }
        XCTAssertEqual(r.status, RPCStatus.proto)
        XCTAssertEqual(raw.receive(), .closed)
        // Both descriptors and the connection's socket are gone from the server.
        assertOthersUnaffected("fd mismatch", baseline: baseline - 1)
        // More descriptors than the limit (9 > 8): also rejected and closed.
        let raw2 = try RawConnection(path: server.socket)
        XCTAssertEqual(raw2.hello().isHeader, true)
        usleep(100_000)
        let base2 = server.fdCount
        let nine = [Int32](repeating: p[0], count: 9)
        XCTAssertTrue(raw2.send(header(controlHeader(.registerShm, requestID: 12, fdCount: 9)), fds: nine))
        guard case .header(let r2) = raw2.receive() else { return XCTFail("expected EPROTO") }
        XCTAssertEqual(r2.status, RPCStatus.proto)
        XCTAssertEqual(raw2.receive(), .closed)
        assertOthersUnaffected("too many fds", baseline: base2 - 1)
    }

    func testUnknownInterfaceAndOperationAreENOSYSAndTheConnectionStays() throws {
        let raw = try RawConnection(path: server.socket)
        XCTAssertEqual(raw.hello().isHeader, true)
        for (i, o, id) in [(UInt32(42), UInt32(1), UInt64(2)), (1, 99, 3), (0, 77, 4)] {
            XCTAssertTrue(raw.send(header(RPCHeader(interface: i, operation: o, requestID: id))))
            guard case .header(let r) = raw.receive() else {
                XCTFail("no reply for \(i).\(o)")
                continue
            }
            XCTAssertEqual(r.status, RPCStatus.nosys, "\(i).\(o)")
            XCTAssertEqual(r.requestID, id)
            XCTAssertTrue(r.flags.contains(.reply))
        }
        // Still usable: echo.ping.
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 1, requestID: 5))))
        guard case .header(let ok) = raw.receive() else { return XCTFail("ping after ENOSYS") }
        XCTAssertEqual(ok.status, 0)
        // A bad payload is EINVAL, not a protocol error.
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 4, requestID: 6), payload: [1, 2])))
        guard case .header(let inval) = raw.receive() else { return XCTFail("no reply") }
        XCTAssertEqual(inval.status, RPCStatus.inval)
        assertOthersUnaffected("enosys")
    }

    /// A client that sends and never reads: replies pile up in its bounded
    /// queue (the socket takes ~200 KiB), and past max_queued_reply_bytes
    /// (4 MiB) the server disconnects it, while serving everybody else.
    func testAClientThatStopsReadingIsDisconnectedNotAStall() throws {
        let baseline = server.fdCount
        let raw = try RawConnection(path: server.socket)
        XCTAssertEqual(raw.hello().isHeader, true)
        var w = PayloadWriter()
        w.bytes([UInt8](repeating: 0x5A, count: 60 << 10))  // echo.echo of 60 KiB
        let request = w.bytes
        let rawFD = raw.fd
        // Sending blocks once the server stops reading us; run it on a
        // thread that ends when the server hangs up (send then fails).
        let sent = Locked<UInt64?>(nil)
        let sender = Thread {
            var id: UInt64 = 2
            while id < 2_000 {
                let msg = header(RPCHeader(interface: 1, operation: 2, requestID: id), payload: request)
                let ok = msg.withUnsafeBytes { husk_rpc_send(rawFD, $0.baseAddress, $0.count, nil, 0, 0) == $0.count }
                if !ok { break }
                id += 1
            }
            sent.set(id)
        }
        sender.start()
        XCTAssertTrue(waitUntil(20) { server.child.stderr.contains("client not reading); disconnecting") }, server.child.stderr)
        // Everybody else is still served while (and after) that happens.
        assertOthersUnaffected("slow reader")
        XCTAssertTrue(waitUntil(20) { sent.get() != nil }, "the sender was released by the disconnect")
        // What the server had already sent is readable, then the end.
        var replies = 0
        while case .header = raw.receive(timeout: 5) { replies += 1 }
        XCTAssertGreaterThan(replies, 0)
        XCTAssertLessThan(replies * (60 << 10), 8 << 20, "the server never buffered far beyond its limit for us")
        assertOthersUnaffected("slow reader, after", baseline: baseline)
    }

    func testFirstMessageMustBeHello() throws {
        let raw = try RawConnection(path: server.socket)
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 1, requestID: 3))))
        guard case .header(let r) = raw.receive() else { return XCTFail("expected EPROTO") }
        XCTAssertEqual(r.status, RPCStatus.proto)
        XCTAssertEqual(r.requestID, 3)
        XCTAssertEqual(raw.receive(), .closed)
        assertOthersUnaffected("no hello")
    }

    func testFragmentedRequestAboveMaxPayloadIsEMSGSIZE() throws {
        // A small in-process server so that the limit is cheap to exceed.
        var limits = RPCLimits()
        limits.maxPayload = 200_000
        let (_, path) = try inProcessServer(self, limits: limits)
        let raw = try RawConnection(path: path)
        XCTAssertEqual(raw.hello().isHeader, true)
        let chunk = [UInt8](repeating: 7, count: 100_000)
        for i in 0..<3 {
            let h = RPCHeader(flags: i < 2 ? .more : [], interface: 1, operation: 2, requestID: 21)
            XCTAssertTrue(raw.send(header(h, payload: chunk)))
        }
        guard case .header(let r) = raw.receive() else { return XCTFail("expected EMSGSIZE") }
        XCTAssertEqual(r.status, RPCStatus.msgsize)
        XCTAssertEqual(r.requestID, 21)
        // The connection stays usable.
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 1, requestID: 22))))
        guard case .header(let ok) = raw.receive() else { return XCTFail("ping after EMSGSIZE") }
        XCTAssertEqual(ok.requestID, 22)
        XCTAssertEqual(ok.status, 0)
    }

    /// Each protocol error docs/protocol.md §7 lists gets EPROTO (with the
    /// request id; none for id 0) and a close, and no other client notices.
    func testEveryListedProtocolErrorIsEPROTOAndClose() throws {
        let helloPayload: [UInt8] = {
            var w = PayloadWriter()
            w.u16(1)
            w.u16(1)
            w.u32(0)
            return w.bytes
        }()
        func fresh() throws -> RawConnection {
            let raw = try RawConnection(path: server.socket)
            XCTAssertTrue(raw.hello().isHeader)
            return raw
        }
        func expectEPROTO(_ raw: RawConnection, id: UInt64, _ name: String) {
            guard case .header(let r) = raw.receive() else { return XCTFail("\(name): expected EPROTO") }
            XCTAssertEqual(r.status, RPCStatus.proto, name)
            XCTAssertEqual(r.requestID, id, name)
            XCTAssertEqual(raw.receive(), .closed, name)
            assertOthersUnaffected(name)
        }
        // Request id 0: closed without a reply (no reply carries id 0).
        var raw = try fresh()
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 1, requestID: 0))))
        XCTAssertEqual(raw.receive(), .closed, "request id 0")
        assertOthersUnaffected("request id 0")
        // A request id already in flight (a 2 s sleep holds it).
        raw = try fresh()
        var sleep = PayloadWriter()
        sleep.u32(2_000)
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 4, requestID: 9), payload: sleep.bytes)))
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 1, requestID: 9))))
        guard case .header(let dup) = raw.receive() else { return XCTFail("duplicate: expected EPROTO") }
        XCTAssertEqual(dup.status, RPCStatus.proto)
        // A continuation fragment that names another operation.
        raw = try fresh()
        XCTAssertTrue(raw.send(header(RPCHeader(flags: .more, interface: 1, operation: 2, requestID: 11), payload: [1, 0, 0, 0])))
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 3, requestID: 11), payload: [7])))
        expectEPROTO(raw, id: 11, "fragment changes its operation")
        // A descriptor on a continuation fragment (it is closed).
        raw = try fresh()
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        XCTAssertTrue(raw.send(header(RPCHeader(flags: .more, interface: 1, operation: 2, requestID: 12), payload: [1, 0, 0, 0])))
        var later = RPCHeader(interface: 1, operation: 2, requestID: 12, fdCount: 1)
        later.payloadLength = 1
        XCTAssertTrue(raw.send(later.encoded() + [7], fds: [fd]))
        expectEPROTO(raw, id: 12, "descriptor on a later fragment")
        // A HELLO whose payload does not decode.
        raw = try RawConnection(path: server.socket)
        XCTAssertTrue(raw.send(header(controlHeader(.hello, requestID: 13), payload: Array(helloPayload.dropLast()))))
        expectEPROTO(raw, id: 13, "malformed HELLO")
    }

    /// Control operations with the wrong arguments are EINVAL and the
    /// connection stays (docs/protocol.md §4).
    func testControlArgumentErrorsAreEINVAL() throws {
        let raw = try RawConnection(path: server.socket)
        XCTAssertTrue(raw.hello().isHeader)
        func expect(_ status: Int32, id: UInt64, _ name: String) {
            guard case .header(let r) = raw.receive() else { return XCTFail("\(name): no reply") }
            XCTAssertEqual(r.requestID, id, name)
            XCTAssertEqual(r.status, status, name)
        }
        XCTAssertTrue(raw.send(header(controlHeader(.registerShm, requestID: 20))))
        expect(RPCStatus.inval, id: 20, "REGISTER_SHM without a descriptor")
        let empty = husk_rpc_memfd("empty")
        XCTAssertGreaterThanOrEqual(empty, 0)
        _ = husk_rpc_add_seals(empty, husk_rpc_seal_shrink())
        XCTAssertTrue(raw.send(controlHeader(.registerShm, requestID: 21, fdCount: 1).encoded(), fds: [empty]))
        close(empty)
        expect(RPCStatus.inval, id: 21, "REGISTER_SHM of a zero-size memfd")
        var unreg = PayloadWriter()
        unreg.u32(4242)
        XCTAssertTrue(raw.send(header(controlHeader(.unregisterShm, requestID: 22), payload: unreg.bytes)))
        expect(RPCStatus.inval, id: 22, "UNREGISTER_SHM of an id never registered (or already gone)")
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        XCTAssertTrue(raw.send(controlHeader(.ping, requestID: 23, fdCount: 1).encoded(), fds: [null]))
        close(null)
        expect(RPCStatus.inval, id: 23, "PING with a descriptor")
        var ref = PayloadWriter()
        ref.u32(1)
        ref.u32(1)
        ref.u64(0)
        ref.u64(8)  // shm_ref with a non-zero padding word
        XCTAssertTrue(raw.send(header(RPCHeader(interface: 1, operation: 5, requestID: 24), payload: ref.bytes)))
        expect(RPCStatus.inval, id: 24, "shm_ref with a non-zero padding word")
        XCTAssertTrue(raw.send(header(controlHeader(.ping, requestID: 25))))
        expect(0, id: 25, "the connection is still served")
    }

    /// Fragments of two requests may interleave (§5); each is reassembled.
    func testInterleavedFragmentsOfTwoRequests() throws {
        let raw = try RawConnection(path: server.socket)
        XCTAssertTrue(raw.hello().isHeader)
        func part(_ id: UInt64, more: Bool, _ bytes: [UInt8]) -> [UInt8] {
            header(RPCHeader(flags: more ? .more : [], interface: 1, operation: 2, requestID: id), payload: bytes)
        }
        // echo(data: bytes): u32 length, then the bytes, split across fragments.
        XCTAssertTrue(raw.send(part(31, more: true, [3, 0, 0, 0, 0xA1])))
        XCTAssertTrue(raw.send(part(32, more: true, [2, 0, 0, 0])))
        XCTAssertTrue(raw.send(part(31, more: false, [0xA2, 0xA3])))
        XCTAssertTrue(raw.send(part(32, more: false, [0xB1, 0xB2])))
        var seen: Set<UInt64> = []
        for _ in 0..<2 {
            guard case .header(let r) = raw.receive() else { return XCTFail("missing reply") }
            XCTAssertEqual(r.status, 0)
            XCTAssertEqual(r.payloadLength, r.requestID == 31 ? 7 : 6, "request \(r.requestID)")
            seen.insert(r.requestID)
        }
        XCTAssertEqual(seen, [31, 32])
    }

    /// The queued-reply limit (4 MiB) is for a client that does not read: a
    /// single reply above it, to a client that reads, streams out whole.
    func testAReplyLargerThanTheQueueLimitReachesAReadingClient() throws {
        let big = (0..<4_490_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        XCTAssertEqual(try good.echo(big), big)
        assertOthersUnaffected("large reply")
    }
}

extension RawConnection.Got {
    var isHeader: Bool {
        if case .header(let h) = self { return h.status == 0 }
        return false
    }
}
