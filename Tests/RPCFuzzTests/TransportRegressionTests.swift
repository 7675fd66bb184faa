import Glibc
import RPCSys
import RPCTransport
import RPCWire
import XCTest

/// Regressions found while building the fuzz target that live below the
/// in-memory transport (docs/fuzzing.md, "Bugs found").
final class TransportRegressionTests: XCTestCase {
    func openDescriptors() -> Int {
        var n = 0
        if let d = opendir("/proc/self/fd") {
            while readdir(d) != nil { n += 1 }
            closedir(d)
        }
        return n
    }

    /// An empty SOCK_SEQPACKET message can carry descriptors: recvmsg returns
    /// 0 with SCM_RIGHTS. SeqPacketConnection read that as end of stream and
    /// leaked the descriptors; it now hands the message up (the server
    /// rejects it as truncated and closes them).
    func testEmptyMessageWithDescriptorsDoesNotLeak() throws {
        let before = openDescriptors()
        do {
            var pair: [Int32] = [-1, -1]
            XCTAssertEqual(husk_rpc_socketpair(&pair), 0)
            let peer = OwnedDescriptor(pair[1])
            let conn = SeqPacketConnection(adopting: OwnedDescriptor(pair[0]))
            let attached = [open("/dev/null", O_RDONLY | O_CLOEXEC), open("/dev/null", O_RDONLY | O_CLOEXEC)]
            let sent = attached.withUnsafeBufferPointer { husk_rpc_send(peer.raw, nil, 0, $0.baseAddress, 2, 0) }
            XCTAssertEqual(sent, 0)
            closeDescriptors(attached)
            switch conn.receive() {
            case .message(let m):
                XCTAssertEqual(m.bytes, [])
                XCTAssertEqual(m.descriptors.count, 2)
                closeDescriptors(m.descriptors)
            default:
                XCTFail("an empty message with descriptors must reach the receiver")
            }
            _ = Glibc.close(peer.take())  // the peer goes away
            if case .closed = conn.receive() {} else { XCTFail("end of stream expected") }
            conn.close()
        }
        XCTAssertEqual(openDescriptors(), before)
    }
}
