import Foundation
import Glibc
@_exported import HuskTestSupport
import RPCClient
import RPCEcho
import RPCServer
import RPCSys
import RPCTransport
import RPCWire
import XCTest

/// A scratch directory (short path: sun_path holds 107 bytes), removed after the test.
func rpcScratch(_ test: XCTestCase) throws -> String { try scratchDirectory(test, prefix: "rpct") }

extension EchoServerProcess {
    func connect() throws -> EchoSession { try EchoSession.connect(path: socket) }
}

/// An in-process server on a socket in a scratch directory.
func inProcessServer(_ test: XCTestCase, policy: AccessPolicy = .allowAll, limits: RPCLimits = RPCLimits()) throws -> (RPCServer, String) {
    let dir = try rpcScratch(test)
    var config = RPCServer.Configuration(name: "echo-test")
    config.policy = policy
    config.limits = limits
    config.log = { _, _ in }
    let server = RPCServer(configuration: config, handlers: [EchoHandler()])
    let path = "\(dir)/s"
    try server.listen(path: path)
    test.addTeardownBlock { server.shutdown(deadline: 1, grace: 1) }
    return (server, path)
}

/// A raw SOCK_SEQPACKET connection for hostile input.
final class RawConnection {
    let fd: Int32
    init(path: String) throws {
        fd = husk_rpc_socket()
        guard fd >= 0, husk_rpc_unix_connect(fd, path) == 0 else { throw TestFailure("connect \(path): errno \(errno)") }
    }
    deinit { close(fd) }

    func send(_ bytes: [UInt8], fds: [Int32] = []) -> Bool {
        bytes.withUnsafeBytes { b in
            fds.withUnsafeBufferPointer { f in
                husk_rpc_send(fd, b.baseAddress, b.count, f.baseAddress, Int32(f.count), 0) == b.count
            }
        }
    }

    enum Got: Equatable { case header(RPCHeader), closed, timeout, garbage }
    /// Next message's header, or closed/timeout.
    func receive(timeout: Double = 5) -> Got {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) > 0 else { return .timeout }
        var buf = [UInt8](repeating: 0, count: 1 << 18)
        var fds = [Int32](repeating: -1, count: 16)
        var info = husk_rpc_recv_info()
        let n = buf.withUnsafeMutableBytes { b in husk_rpc_recv(fd, b.baseAddress, b.count, &fds, 16, &info) }
        for i in 0..<Int(info.nfds) { close(fds[i]) }
        if n <= 0 { return .closed }
        let h = buf.withUnsafeBytes {
            RPCHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<n]), messageLength: n, fdsReceived: Int(info.nfds))
        }
        if case .success(let x) = h { return .header(x) }
        return .garbage
    }

    /// Send a valid HELLO and read its reply.
    func hello() -> Got {
        var w = PayloadWriter()
        w.u16(1)
        w.u16(1)
        w.u32(1)
        w.u32(1)
        w.u32(1)
        _ = send(header(controlHeader(.hello, requestID: 1), payload: w.bytes))
        return receive()
    }
}

/// A request header on the control interface (docs/protocol.md §4).
func controlHeader(_ op: RPCControl.Operation, requestID: UInt64, fdCount: UInt16 = 0) -> RPCHeader {
    RPCHeader(interface: RPCControl.interface, operation: op.rawValue, requestID: requestID, fdCount: fdCount)
}

func header(_ h: RPCHeader, payload: [UInt8] = []) -> [UInt8] {
    var h = h
    h.payloadLength = UInt32(payload.count)
    return h.encoded() + payload
}

/// Run `body` on a thread; fail (rather than hang) if it does not finish.
func withDeadline(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        body()
        done.signal()
    }
    return done.wait(timeout: .now() + seconds) == .success
}
