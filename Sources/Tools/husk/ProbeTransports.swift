import Glibc
import GlueAPI
import HypercallABI
import NICClient
import Platform
import RPCWire

/// Where `husk nic probe` sends and receives frames: the NIC registry of
/// this process (--tap), or a port of a NIC server in another (--socket).
protocol ProbeTransport: AnyObject {
    var mac: [UInt8] { get }
    func send(_ frame: [UInt8]) -> Bool
    /// The next frame received, or nil once `deadline` (monotonic ns) has passed.
    func next(deadline: UInt64) -> [UInt8]?
    func close()
}

struct ProbeOpenError: Error, CustomStringConvertible { let description: String }

/// The registry's consumer side of one interface: frames are copied into a
/// queue and given back to the provider at once.
final class RegistryTransport: ProbeTransport, @unchecked Sendable {
    // @unchecked: the queue is behind `monitor`; `ref` and `mac` are set in init.
    private let monitor = Monitor()
    private var queue: [[UInt8]] = []
    private var ref: OpaquePointer?
    private(set) var mac: [UInt8] = []

    init(interface: String) throws {
        var c = netif_consumer()
        c.input = { arg, frame, len in
            Unmanaged<RegistryTransport>.fromOpaque(arg!).takeUnretainedValue().arrived(frame, len)
        }
        c.arg = Unmanaged.passUnretained(self).toOpaque()
        let status = monitor.withLock { () -> Int32 in
            // Frames that arrive before `ref` is stored wait on the lock.
            var r: OpaquePointer?
            let s = glue_netif_open(interface, &c, &r)
            ref = r
            return s
        }
        guard status == HUSK_OK, let ref else {
            throw ProbeOpenError(description: "cannot open interface \(interface) in the NIC registry: \(ErrnoName.describe(status))")
        }
        var info = netif_info()
        glue_netif_info(ref, &info)
        mac = withUnsafeBytes(of: info.mac) { Array($0) }
    }

    func close() { glue_netif_close(ref) }

    /// Input callback (the provider's receive thread): copy, give the frame back.
    private func arrived(_ frame: UnsafeMutableRawPointer?, _ len: Int) {
        let bytes = Array(UnsafeRawBufferPointer(start: frame, count: len))
        let r = monitor.withLock { () -> OpaquePointer? in
            queue.append(bytes)
            monitor.broadcast()
            return ref
        }
        glue_netif_rx_done(r, frame)
    }

    func send(_ frame: [UInt8]) -> Bool {
        frame.withUnsafeBytes { glue_netif_send(ref, $0.baseAddress, frame.count) } == HUSK_OK
    }

    func next(deadline: UInt64) -> [UInt8]? {
        monitor.withLock {
            while queue.isEmpty { if !monitor.wait(deadlineNanos: deadline) { return nil } }
            return queue.removeFirst()
        }
    }
}

/// The stack port of an interface on a NIC server (docs/nic.md).
final class ServerTransport: ProbeTransport {
    private let server: NICServerClient
    private let port: NICPort
    private var pending: [[UInt8]] = []
    var mac: [UInt8] { port.mac }

    init(socket: String, interface: String?) throws {
        do throws(RPCError) {
            server = try NICServerClient(socket: socket)
            let names = try server.interfaces()
            let name: String
            if let interface {
                name = interface
            } else {
                guard names.count == 1 else {
                    throw RPCError(
                        RPCStatus.inval,
                        "the server has \(names.count) interfaces (\(names.joined(separator: ", "))): choose one with --interface")
                }
                name = names[0]
            }
            port = try server.open(name, monitor: false)
        } catch {
            throw ProbeOpenError(description: "NIC server \(socket): \(error)")
        }
    }

    func close() {
        port.close()
        server.rpc.close()
    }

    func send(_ frame: [UInt8]) -> Bool { (try? port.send([frame])) == 1 }

    func next(deadline: UInt64) -> [UInt8]? {
        while pending.isEmpty {
            let now = monotonicNanos()
            guard now < deadline else { return nil }
            let ms = UInt32(min((deadline - now + 999_999) / 1_000_000, 60_000))
            guard let got = try? port.receive(timeoutMs: ms) else { return nil }
            pending += got.frames.map(\.bytes)
        }
        return pending.removeFirst()
    }
}
