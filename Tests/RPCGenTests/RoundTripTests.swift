import Foundation
import HuskTestSupport
import RPCInterfaces
import RPCWire
import XCTest

/// The generated Swift stubs of Interfaces/echo.idl: byte layout, round
/// trips, hostile bytes, the dispatcher and the client.
final class RoundTripTests: XCTestCase {
    func testByteLayoutMatchesTheProtocol() {
        XCTAssertEqual(Echo.EchoRequest(data: [9, 8, 7]).encode(), [3, 0, 0, 0, 9, 8, 7])
        XCTAssertEqual(Echo.SleepRequest(ms: 0x0102_0304).encode(), [4, 3, 2, 1])
        XCTAssertEqual(
            Echo.ChecksumRequest(data: SharedMemoryRef(id: 7, offset: 0x10, length: 0x200)).encode(),
            [7, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(
            Echo.WhoamiReply(uid: 1, gid: 2, groups: [3, 0x100]).encode(),
            [1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(Echo.OpenRequest(name: "ab").encode(), [2, 0, 0, 0, 0x61, 0x62])
        XCTAssertEqual(Echo.OpenReply(object: 5).encode(), [], "fd fields travel as descriptors")
        XCTAssertEqual(Echo.OpenReply(object: 5).descriptors, [5])
        XCTAssertEqual(Echo.PingRequest().encode(), [])
        XCTAssertEqual(Echo.interfaceID, 1)
        XCTAssertEqual(Echo.interfaceVersion, 1)
        XCTAssertEqual(Echo.Operation.checksum.rawValue, 5)
        XCTAssertTrue(Echo.Operation.checksum.isIdempotent)
        XCTAssertFalse(Echo.Operation.sleep.isIdempotent)
        XCTAssertEqual(Echo.operationNames[8], "open")
    }

    /// Every message, encoded then decoded, comes back equal; every strict
    /// prefix and every extension by a byte is refused.
    func testRoundTripsTruncationAndTrailingBytes() {
        func check<M: RPCGeneratedMessage & Equatable>(_ m: M, file: StaticString = #filePath, line: UInt = #line) {
            let bytes = m.encode()
            XCTAssertEqual(M.decode(bytes, descriptors: []), m, file: file, line: line)
            for n in 0..<bytes.count {
                XCTAssertNil(M.decode(Array(bytes[0..<n])), "prefix \(n) of \(M.self)", file: file, line: line)
            }
            XCTAssertNil(M.decode(bytes + [0]), "trailing byte after \(M.self)", file: file, line: line)
        }
        check(Echo.PingRequest())
        check(Echo.PingReply())
        check(Echo.EchoRequest(data: []))
        check(Echo.EchoRequest(data: Array(0..<200)))
        check(Echo.EchoReply(data: [0xFF]))
        check(Echo.StatReply(uptimeNs: .max, calls: 1))
        check(Echo.SleepRequest(ms: 17))
        check(Echo.SleepReply(sleptMs: 16))
        check(Echo.ChecksumRequest(data: SharedMemoryRef(id: 1, offset: .max, length: 3)))
        check(Echo.ChecksumReply(crc32c: 0xDEAD_BEEF, length: 4096))
        check(Echo.RaiseRequest(signal: 13))
        check(Echo.WhoamiReply(uid: 1000, gid: 100, groups: []))
        check(Echo.WhoamiReply(uid: 0, gid: 0, groups: [1, 2, 3, .max]))
        check(Echo.OpenRequest(name: "naïve ☃"))
        check(Echo.OpenRequest(name: ""))
    }

    func testHostileLengthsAndValues() {
        // Counts far beyond the bytes present: refused before allocating.
        XCTAssertNil(Echo.EchoRequest.decode([0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]))
        XCTAssertNil(Echo.WhoamiReply.decode([1, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]))
        XCTAssertNil(Echo.WhoamiReply.decode([1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]))
        XCTAssertNil(Echo.WhoamiReply.decode([1, 0, 0, 0, 2, 0, 0, 0, 0x00, 0x00, 0x00, 0x40]))
        // shm references with a non-zero padding word.
        XCTAssertNil(Echo.ChecksumRequest.decode([7, 0, 0, 0, 1, 0, 0, 0] + [UInt8](repeating: 0, count: 16)))
        // Strings: invalid UTF-8 and embedded NUL.
        XCTAssertNil(Echo.OpenRequest.decode([2, 0, 0, 0, 0xC3, 0x28]))
        XCTAssertNil(Echo.OpenRequest.decode([3, 0, 0, 0, 0x61, 0, 0x62]))
        // An operation without fields takes no bytes at all.
        XCTAssertNil(Echo.PingRequest.decode([0]))
    }

    func testDescriptors() throws {
        // Missing descriptor: refused.
        XCTAssertNil(Echo.OpenReply.decode([], descriptors: []))
        // The declared descriptor is taken.
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        XCTAssertEqual(Echo.OpenReply.decode([], descriptors: [fds[1]])?.object, fds[1])
        // One descriptor too many: refused and every descriptor closed.
        var more: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&more), 0)
        XCTAssertNil(Echo.OpenReply.decode([], descriptors: more))
        XCTAssertEqual(fcntl(more[0], F_GETFD), -1, "descriptor left open")
        XCTAssertEqual(fcntl(more[1], F_GETFD), -1, "descriptor left open")
        // A payload error closes the descriptors that came with it.
        var p: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&p), 0)
        defer { close(p[0]) }
        XCTAssertNil(Echo.OpenReply.decode([1], descriptors: [p[1]]))
        XCTAssertEqual(fcntl(p[1], F_GETFD), -1)
        close(fds[1])
    }

    /// Random bytes into every decoder: nil or a value, never a crash, and
    /// whatever decodes re-encodes to the same bytes.
    func testRandomBytesNeverCrash() {
        var rng = SplitMix(seed: 0x5EED)
        func fuzz<M: RPCGeneratedMessage>(_: M.Type) {
            for _ in 0..<3000 {
                let n = Int(rng.next() % 40)
                var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if n >= 4 && rng.next() % 2 == 0 {
                    // Plausible small lengths, so that decodes also succeed.
                    bytes[0] = UInt8(rng.next() % 8)
                    bytes[1] = 0
                    bytes[2] = 0
                    bytes[3] = 0
                }
                if let m = M.decode(bytes) { XCTAssertEqual(m.encode(), bytes) }
            }
        }
        fuzz(Echo.PingRequest.self)
        fuzz(Echo.EchoRequest.self)
        fuzz(Echo.EchoReply.self)
        fuzz(Echo.StatReply.self)
        fuzz(Echo.SleepRequest.self)
        fuzz(Echo.ChecksumRequest.self)
        fuzz(Echo.ChecksumReply.self)
        fuzz(Echo.RaiseRequest.self)
        fuzz(Echo.WhoamiReply.self)
        fuzz(Echo.OpenRequest.self)
    }

    // MARK: - Dispatcher

    func testDispatcher() {
        let d = EchoDispatcher(FakeEcho())
        XCTAssertEqual(d.interfaceID, 1)
        XCTAssertEqual(d.interfaceName, "echo")
        XCTAssertEqual(d.operationNames.count, 9)
        let call = FakeCall()
        func dispatch(_ op: UInt32, _ payload: [UInt8]) -> RPCReplyBody {
            payload.withUnsafeBytes { d.dispatch(operation: op, payload: $0, call: call) }
        }
        var r = dispatch(2, Echo.EchoRequest(data: [1, 2, 3]).encode())
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(Echo.EchoReply.decode(r.payload), Echo.EchoReply(data: [1, 2, 3]))
        XCTAssertEqual(dispatch(99, []).status, RPCStatus.nosys)
        XCTAssertEqual(dispatch(0, []).status, RPCStatus.nosys)
        XCTAssertEqual(dispatch(2, [5, 0, 0, 0, 1]).status, RPCStatus.inval)
        XCTAssertEqual(dispatch(1, [0]).status, RPCStatus.inval, "trailing bytes")
        r = dispatch(4, Echo.SleepRequest(ms: 5).encode())
        XCTAssertEqual(r.status, RPCStatus.intr)
        XCTAssertEqual(r.payload, [], "a failed reply has no payload")
        XCTAssertEqual(dispatch(6, Echo.RaiseRequest(signal: 0).encode()).status, RPCStatus.io, "a thrown status 0 is EIO")
        r = dispatch(6, Echo.RaiseRequest(signal: 13).encode())
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(call.raised, [13])
        r = dispatch(8, Echo.OpenRequest(name: "x").encode())
        XCTAssertEqual(r.descriptors, [42])
        XCTAssertEqual(r.payload, [])
    }

    // MARK: - Client

    func testClient() throws {
        let caller = FakeCaller(reply: RPCResponse(payload: Echo.EchoReply(data: [7]).encode(), descriptors: []))
        let client = EchoClient(caller)
        XCTAssertEqual(try client.echo(data: [7]).data, [7])
        XCTAssertEqual(caller.log, ["1.2 idempotent=true payload=[1, 0, 0, 0, 7]"])
        caller.reply = RPCResponse(payload: Echo.SleepReply(sleptMs: 5).encode(), descriptors: [])
        XCTAssertEqual(try client.sleep(ms: 5).sleptMs, 5)
        XCTAssertEqual(caller.log.last, "1.4 idempotent=false payload=[5, 0, 0, 0]")
        caller.reply = RPCResponse(payload: [1, 2], descriptors: [])
        XCTAssertThrowsError(try client.sleep(ms: 5)) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.proto) }
        caller.failure = RPCError(RPCStatus.acces)
        XCTAssertThrowsError(try client.ping()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.acces) }
    }
}

private struct FakeEcho: EchoService {
    struct Unused: Error {}
    func ping(_ request: Echo.PingRequest, call: any RPCCall) throws(RPCError) -> Echo.PingReply { Echo.PingReply() }
    func echo(_ request: Echo.EchoRequest, call: any RPCCall) throws(RPCError) -> Echo.EchoReply { Echo.EchoReply(data: request.data) }
    func stat(_ request: Echo.StatRequest, call: any RPCCall) throws(RPCError) -> Echo.StatReply { Echo.StatReply(uptimeNs: 1, calls: 2) }
    func sleep(_ request: Echo.SleepRequest, call: any RPCCall) throws(RPCError) -> Echo.SleepReply { throw RPCError(RPCStatus.intr) }
    func checksum(_ request: Echo.ChecksumRequest, call: any RPCCall) throws(RPCError) -> Echo.ChecksumReply {
        throw RPCError(RPCStatus.fault)
    }
    func raise(_ request: Echo.RaiseRequest, call: any RPCCall) throws(RPCError) -> Echo.RaiseReply {
        if request.signal == 0 { throw RPCError(0) }
        call.raiseSignal(Int32(request.signal))
        return Echo.RaiseReply()
    }
    func whoami(_ request: Echo.WhoamiRequest, call: any RPCCall) throws(RPCError) -> Echo.WhoamiReply {
        Echo.WhoamiReply(uid: call.identity.uid, gid: call.identity.gid, groups: call.identity.groups)
    }
    func open(_ request: Echo.OpenRequest, call: any RPCCall) throws(RPCError) -> Echo.OpenReply { Echo.OpenReply(object: 42) }
}

private final class FakeCall: RPCCall, @unchecked Sendable {
    let identity = PeerIdentity(uid: 1, gid: 2, groups: [3], pid: 4)
    let interface: UInt32 = 1
    let operation: UInt32 = 0
    let isCancelled = false
    var raised: [Int32] = []
    func takeDescriptor() -> Int32? { nil }
    func raiseSignal(_ signal: Int32) { raised.append(signal) }
}

private final class FakeCaller: RPCCaller, @unchecked Sendable {
    var reply: RPCResponse
    var failure: RPCError?
    var log: [String] = []
    init(reply: RPCResponse) { self.reply = reply }
    func call(
        interface: UInt32, operation: UInt32, payload: [UInt8], descriptors: [Int32], idempotent: Bool
    ) throws(RPCError) -> RPCResponse {
        log.append("\(interface).\(operation) idempotent=\(idempotent) payload=\(payload)")
        if let failure { throw failure }
        return reply
    }
}
