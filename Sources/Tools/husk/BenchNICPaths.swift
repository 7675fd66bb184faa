import Glibc
import GlueAPI
import HostSys
import HuskHost
import HypercallABI
import Hypercalls
import NICBenchC
import NICClient
import Platform
import RPCWire
import Synchronization

/// One way of moving frames through the bench's TAP: raw system calls on
/// the TAP descriptor (the baseline), the NIC registry in this process (the
/// tap component below, a consumer above), or the NIC server in a child
/// process (a stack port over the native RPC).
protocol NICBenchPath: AnyObject {
    /// Frames per second sent for `seconds`.
    func transmit(_ frame: [UInt8], seconds: Double) -> Double
    /// Frames per second received for `seconds` while `source` sends.
    func receive(seconds: Double, source: NICBenchSource) -> Double
    func close()
}

/// The kernel side of the TAP: an AF_PACKET socket on it sends frames that
/// arrive at the TAP descriptor, from its own thread, while a path receives.
final class NICBenchSource: @unchecked Sendable {
    // @unchecked: `stop` is a plain int the C loop polls; set once per run.
    private let fd: Int32
    private let stop = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private let frame: [UInt8]
    var frameBytes: [UInt8] { frame }

    init(interface: String, frame: [UInt8]) throws {
        fd = nicbench_packet_socket(interface)
        guard fd >= 0 else { throw BenchFailure("AF_PACKET socket on \(interface): \(String(cString: strerror(errno)))") }
        self.frame = frame
    }

    /// Run `body` while the source sends; returns body's result.
    func whileSending<T>(_ body: () -> T) -> T {
        stop.pointee = 0
        // The flag's address crosses to the sender thread as a number (the C
        // loop reads it as volatile; the join below orders the rest).
        let (fd, stopAddress, frame) = (self.fd, UInt(bitPattern: stop), self.frame)
        let sender = HostThread.start(name: "bench-nic-src") {
            let flag = UnsafePointer<Int32>(bitPattern: stopAddress)
            _ = frame.withUnsafeBytes { nicbench_blast_until(fd, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), frame.count, flag) }
        }
        let r = body()
        stop.pointee = 1
        sender.join()
        return r
    }

    deinit {
        Glibc.close(fd)
        stop.deallocate()
    }
}

/// Raw read and write on the TAP descriptor.
final class RawTAPPath: NICBenchPath {
    private let fd: Int32

    init(interface: String) throws {
        var created: Int32 = 0
        fd = husk_tap_open(interface, 0, &created)
        guard fd >= 0 else { throw BenchFailure("cannot open TAP \(interface): \(String(cString: strerror(errno)))") }
    }

    func transmit(_ frame: [UInt8], seconds: Double) -> Double {
        let n = frame.withUnsafeBytes {
            nicbench_blast(fd, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), frame.count, UInt64(seconds * 1e9))
        }
        return Double(n) / seconds
    }

    func receive(seconds: Double, source: NICBenchSource) -> Double {
        var bytes: UInt64 = 0
        let n = source.whileSending { nicbench_drain(fd, UInt64(seconds * 1e9), &bytes) }
        return Double(n) / seconds
    }

    func close() { Glibc.close(fd) }
}

/// The tap component and a consumer of the registry in this process.
final class RegistryPath: NICBenchPath, @unchecked Sendable {
    // @unchecked: `ref` is set in init before any frame can arrive for us;
    // `received` is atomic (the provider's receive thread counts).
    private let host: ComponentHost
    private var ref: OpaquePointer?
    private let received = Atomic<UInt32>(0)

    init(interface: String) throws {
        host = ComponentHost(backend: try BackendFactory.make(name: "posix", devices: []))
        guard let tap = ComponentRegistry.builtIn(named: "tap") else { throw BenchFailure("no built-in tap component") }
        host.load([tap], parameters: ["tap": ["name": interface]])
        guard host.refused.isEmpty else { throw BenchFailure("tap component: \(host.refused[0].reason)") }
        var c = netif_consumer()
        c.input = { arg, frame, _ in
            let me = Unmanaged<RegistryPath>.fromOpaque(arg!).takeUnretainedValue()
            me.received.add(1, ordering: .relaxed)
            glue_netif_rx_done(me.ref, frame)
        }
        c.arg = Unmanaged.passUnretained(self).toOpaque()
        var r: OpaquePointer?
        let s = glue_netif_open(interface, &c, &r)
        guard s == HUSK_OK else {
            host.shutdown()
            throw BenchFailure("cannot open \(interface) in the registry: \(ErrnoName.describe(s))")
        }
        ref = r
    }

    func transmit(_ frame: [UInt8], seconds: Double) -> Double {
        let end = monotonicNanos() + UInt64(seconds * 1e9)
        var sent = 0
        frame.withUnsafeBytes { f in
            while true {
                if sent & 63 == 0 && monotonicNanos() >= end { break }
                let r = glue_netif_send(ref, f.baseAddress, f.count)
                if r == HUSK_OK {
                    sent += 1
                } else if r == HUSK_EAGAIN {
                    if monotonicNanos() >= end { break }
                    sched_yield()
                } else {
                    break
                }
            }
        }
        return Double(sent) / seconds
    }

    func receive(seconds: Double, source: NICBenchSource) -> Double {
        let n = source.whileSending { () -> UInt32 in
            let start = received.load(ordering: .relaxed)
            usleep(UInt32(seconds * 1e6))
            return received.load(ordering: .relaxed) &- start
        }
        return Double(n) / seconds
    }

    func close() {
        glue_netif_close(ref)
        host.shutdown()
    }
}

/// `husk nic serve --tap` as a child process, this process its stack.
final class ServerPath: NICBenchPath {
    private let server: ChildServer
    private let client: NICServerClient
    private let port: NICPort

    init(interface: String, socket: String, log: String) throws {
        server = try ChildServer(
            arguments: ["nic", "serve", "--tap", interface, "--socket", socket, "--no-drop-privileges"], socket: socket, logPath: log)
        do throws(RPCError) {
            client = try NICServerClient(socket: socket)
            port = try client.open(interface, monitor: false, window: 1 << 20)
        } catch {
            server.stop()
            throw BenchFailure("NIC server: \(error)")
        }
    }

    /// Batches of 64 frames per `send` call, as a stack with a queue would.
    func transmit(_ frame: [UInt8], seconds: Double) -> Double {
        let batch = [[UInt8]](repeating: frame, count: 64)
        let end = monotonicNanos() + UInt64(seconds * 1e9)
        var sent = 0
        while monotonicNanos() < end {
            guard let n = try? port.send(batch) else { break }
            sent += n
        }
        return Double(sent) / seconds
    }

    func receive(seconds: Double, source: NICBenchSource) -> Double {
        let n = source.whileSending { () -> Int in
            let end = monotonicNanos() + UInt64(seconds * 1e9)
            var got = 0
            while monotonicNanos() < end {
                guard let r = try? port.receive(timeoutMs: 20) else { break }
                got += r.frames.count
            }
            return got
        }
        return Double(n) / seconds
    }

    func close() {
        port.close()
        client.rpc.close()
        server.stop()
    }
}
