import ArgumentParser
import Glibc
import NICBenchC
import NetClient
import Platform
import RPCInterfaces
import RPCWire

/// The far end of `husk bench net`: the same four servers on the Husk stack
/// (through the net RPC, as any client of `husk net serve`) or on the
/// kernel in a network namespace of its own (the veth baseline). Started by
/// the bench as a child process; prints `ready` once it listens.
struct BenchNetPeer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net-peer", abstract: "The servers `husk bench net` measures against (internal).", shouldDisplay: false)

    @Option(help: "Serve on the Husk stack of the net server at this socket.") var husk: String?
    @Flag(help: "Serve on the kernel, in a new network namespace with veth end hkv1 (moved in by the bench).") var kernel = false

    static let address = (husk: "10.99.0.2", kernel: "10.98.0.2")

    func validate() throws {
        guard (husk == nil) != !kernel else { throw ValidationError("give --husk SOCKET or --kernel") }
    }

    func run() throws {
        let make: () throws -> any BenchListener
        if let husk {
            let net = try NetServerClient(socket: husk)
            make = { try HuskListener(net) }
        } else {
            guard nicbench_private_netns() == 0 else {
                throw BenchFailure("unshare(CLONE_NEWNET): \(String(cString: strerror(errno)))", bench: "net")
            }
            print("netns-ready")
            // The bench moves hkv1 in; then it is configured from here (this netns).
            let deadline = monotonicSeconds() + 20
            while if_nametoindex("hkv1") == 0 {
                if monotonicSeconds() > deadline { throw BenchFailure("hkv1 never arrived in the peer's namespace", bench: "net") }
                usleep(10_000)
            }
            for args in [
                ["link", "set", "lo", "up"], ["addr", "add", "\(Self.address.kernel)/24", "dev", "hkv1"], ["link", "set", "hkv1", "up"]
            ] {
                guard runQuietly("/usr/sbin/ip", args) == 0 else {
                    throw BenchFailure("ip \(args.joined(separator: " ")) failed", bench: "net")
                }
            }
            make = { try KernelListener(Self.address.kernel) }
        }
        for (port, serve) in [(5001, sink), (5002, source), (5003, echo), (5004, closer)]
            as [(UInt16, @Sendable (any BenchConnection) -> Void)]
        {
            let l = try make()
            try l.listen(port)
            HostThread.start(name: "peer-\(port)", detached: true) {
                while true {
                    do { serve(try l.accept()) } catch {
                        print("port \(port): accept: \(error)")
                        return
                    }
                }
            }
        }
        print("ready")
        while true { pause() }
    }
}

/// Read until the end of the stream, then close.
private func sink(_ c: any BenchConnection) {
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)
    defer { buf.deallocate() }
    while let n = try? c.receive(into: buf), n > 0 {}
    c.close()
}

/// Write until the peer goes away.
private func source(_ c: any BenchConnection) {
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)
    defer { buf.deallocate() }
    buf.initializeMemory(as: UInt8.self, repeating: 0x5a)
    while let n = try? c.send(UnsafeRawBufferPointer(buf)), n > 0 {}
    c.close()
}

/// Answer each byte with one byte, until the end of the stream.
private func echo(_ c: any BenchConnection) {
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
    defer { buf.deallocate() }
    while let n = try? c.receive(into: buf), n == 1, (try? c.send(UnsafeRawBufferPointer(buf))) == 1 {}
    c.close()
}

/// The connection-rate case: one byte to say the connection was
/// accepted, then wait for the client's close and close too. The client
/// closes first, so TIME_WAIT stays on its side: lwIP answers a SYN for a
/// port pair it holds in TIME_WAIT with an ACK, never a SYN-ACK (it does
/// not reuse TIME_WAIT as Linux does), and a client that picked such a port
/// again would wait for lwIP's 2 MSL (120 s).
private func closer(_ c: any BenchConnection) {
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
    defer { buf.deallocate() }
    buf[0] = 1
    if (try? c.send(UnsafeRawBufferPointer(buf))) == 1 { while let n = try? c.receive(into: buf), n > 0 {} }
    c.close()
}

protocol BenchListener: Sendable {
    func listen(_ port: UInt16) throws
    func accept() throws -> any BenchConnection
}

protocol BenchConnection: Sendable {
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    func send(_ data: UnsafeRawBufferPointer) throws -> Int
    func close()
}

/// A listener on the Husk stack, through the net RPC.
final class HuskListener: BenchListener, @unchecked Sendable {
    // @unchecked: the socket is set once in init.
    let socket: NetSocket
    init(_ net: NetServerClient) throws { socket = try net.socket(family: Net.Family.inet, kind: Net.Kind.stream) }
    func listen(_ port: UInt16) throws {
        try socket.setOption(.reuseAddress, 1)
        try socket.bind(NetAddress(host: BenchNetPeer.address.husk, port: port)!)
        try socket.listen(backlog: 64)
    }
    func accept() throws -> any BenchConnection { HuskConnection(try socket.accept().0) }
}

final class HuskConnection: BenchConnection, @unchecked Sendable {
    // @unchecked: immutable.
    let socket: NetSocket
    init(_ s: NetSocket) { socket = s }
    /// Small reads inline, bulk through the socket's shared memory.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if buffer.count > 4096 { return try socket.recvBulk(into: buffer) }
        let d = try socket.recv(max: buffer.count)
        buffer.copyBytes(from: d)
        return d.count
    }
    func send(_ data: UnsafeRawBufferPointer) throws -> Int {
        if data.count > 4096 { return try socket.sendBulk(data, flags: Net.Flag.noSignal) }
        return try socket.send(Array(data), flags: Net.Flag.noSignal)
    }
    func close() { socket.close() }
}

/// A kernel listener.
final class KernelListener: BenchListener, @unchecked Sendable {
    // @unchecked: immutable.
    let fd: Int32
    let address: String
    init(_ address: String) throws {
        self.address = address
        fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket: \(String(cString: strerror(errno)))", bench: "net") }
    }
    func listen(_ port: UInt16) throws {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = ipv4(address, port)
        let r = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0, Glibc.listen(fd, 64) == 0 else {
            throw BenchFailure("bind/listen \(address):\(port): \(String(cString: strerror(errno)))", bench: "net")
        }
    }
    func accept() throws -> any BenchConnection {
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw BenchFailure("accept: \(String(cString: strerror(errno)))", bench: "net") }
        return KernelConnection(c)
    }
}

final class KernelConnection: BenchConnection, @unchecked Sendable {
    // @unchecked: immutable.
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = recv(fd, buffer.baseAddress, buffer.count, 0)
        guard n >= 0 else { throw BenchFailure("recv: \(String(cString: strerror(errno)))", bench: "net") }
        return n
    }
    func send(_ data: UnsafeRawBufferPointer) throws -> Int {
        let n = Glibc.send(fd, data.baseAddress, data.count, Int32(MSG_NOSIGNAL))
        guard n >= 0 else { throw BenchFailure("send: \(String(cString: strerror(errno)))", bench: "net") }
        return n
    }
    func close() { Glibc.close(fd) }
}

/// A sockaddr_in for a dotted quad.
func ipv4(_ host: String, _ port: UInt16) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    inet_pton(AF_INET, host, &a.sin_addr)
    return a
}
