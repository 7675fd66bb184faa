import RPCClient
import RPCInterfaces
import RPCWire

/// A client of the NIC server (Interfaces/nic.idl, docs/nic.md): the
/// server's socket, its interfaces, and opening ports.
public final class NICServerClient: Sendable {
    public let rpc: RPCClient
    let nic: NicClient

    /// Connect to the NIC server at `socket` (HELLO requires nic v1).
    public init(socket: String, timeoutSeconds: Double = 10) throws(RPCError) {
        rpc = try RPCClient.connect(
            path: socket, require: [(Nic.interfaceID, Nic.interfaceVersion)], timeoutSeconds: timeoutSeconds)
        nic = NicClient(rpc)
    }

    /// Names of the interfaces the server serves, sorted.
    public func interfaces() throws(RPCError) -> [String] {
        let names = try nic.interfaces().names
        return names.isEmpty ? [] : names.split(separator: "\n").map(String.init)
    }

    /// Open `name` as its stack port (`monitor: false`; one at a time) or as
    /// a monitor. Two shared-memory windows are registered on the port's
    /// connection, one per direction, so sending and receiving may run on
    /// two threads at once.
    public func open(_ name: String, monitor: Bool, window: Int = 256 << 10) throws(RPCError) -> NICPort {
        let fd: Int32
        do throws(RPCError) { fd = try nic.open(name: name, mode: monitor ? 2 : 1).port } catch {
            // Error replies carry only the status: say what it means here.
            switch error.status {
            case RPCStatus.busy:
                throw RPCError(
                    error.status, "interface \(name) already has a stack port open: one stack at a time (monitors are unlimited)")
            case RPCStatus.noent:
                throw RPCError(
                    error.status, "no interface '\(name)' on the server (it has: \((try? interfaces())?.joined(separator: ", ") ?? "?"))")
            default: throw error
            }
        }
        let conn = try RPCClient.adopt(fd: fd, require: [(Nic.interfaceID, Nic.interfaceVersion)], parent: rpc)
        do { return try NICPort(name: name, rpc: conn, window: window) } catch {
            conn.close()
            throw error
        }
    }
}

/// An open port: the interface's address and MTU, and frames both ways
/// through registered shared memory.
public final class NICPort: @unchecked Sendable {
    // @unchecked: immutable after init, except that each window is used by one
    // thread at a time (send by one, receive by one: documented contract).
    public let name: String
    public let rpc: RPCClient
    let nic: NicClient
    public let mac: [UInt8]
    public let mtu: UInt32
    public let offloads: UInt32
    let txWindow: SharedMemory
    let rxWindow: SharedMemory

    public struct Frame: Sendable {
        public let bytes: [UInt8]
        /// Nic.FrameFlag bits (outgoing: sent by the stack port; monitors only).
        public let flags: UInt32
        /// Wall-clock nanoseconds when the server saw the frame.
        public let time: UInt64
    }

    init(name: String, rpc: RPCClient, window: Int) throws(RPCError) {
        self.name = name
        self.rpc = rpc
        nic = NicClient(rpc)
        let info = try nic.getInfo()
        mac = info.mac
        mtu = info.mtu
        offloads = info.offloads
        txWindow = try rpc.registerSharedMemory(size: window)
        rxWindow = try rpc.registerSharedMemory(size: window)
    }

    /// The current link state (NETIF_LINK_UP is 1).
    public func link() throws(RPCError) -> UInt32 { try nic.getInfo().link }

    /// Send frames in order, as many per call as fit the window; returns how
    /// many were sent (fewer when the interface refused one part way).
    @discardableResult
    public func send(_ frames: [[UInt8]]) throws(RPCError) -> Int {
        var done = 0
        while done < frames.count {
            var lengths: [UInt32] = []
            var used = 0
            while done + lengths.count < frames.count, lengths.count < Nic.Limits.sendFrames {
                let f = frames[done + lengths.count]
                if used + f.count > txWindow.size { break }
                f.withUnsafeBytes { (txWindow.base + used).copyMemory(from: $0.baseAddress!, byteCount: f.count) }
                used += f.count
                lengths.append(UInt32(f.count))
            }
            guard !lengths.isEmpty else {
                throw RPCError(RPCStatus.inval, "a frame of \(frames[done].count) bytes exceeds the send window")
            }
            let sent = Int(try nic.send(frames: txWindow.ref(offset: 0, length: UInt64(used)), lengths: lengths).sent)
            done += sent
            if sent < lengths.count { break }
        }
        return done
    }

    /// Frames received (and, on a monitor, sent) since the last call,
    /// waiting up to `timeoutMs` for the first; an empty result after a
    /// timeout or a link change. `link` is the state at return.
    public func receive(timeoutMs: UInt32) throws(RPCError) -> (frames: [Frame], link: UInt32) {
        let r = try nic.receive(frames: rxWindow.ref(offset: 0, length: UInt64(rxWindow.size)), timeoutMs: timeoutMs)
        guard r.flags.count == r.lengths.count, r.times.count == r.lengths.count else {
            throw RPCError(RPCStatus.proto, "receive: \(r.lengths.count) lengths but \(r.flags.count) flags and \(r.times.count) times")
        }
        var out: [Frame] = []
        var offset = 0
        for (i, l) in r.lengths.enumerated() {
            guard offset + Int(l) <= rxWindow.size else { throw RPCError(RPCStatus.proto, "receive: frame lengths exceed the window") }
            out.append(
                Frame(
                    bytes: Array(UnsafeRawBufferPointer(start: rxWindow.base + offset, count: Int(l))), flags: r.flags[i], time: r.times[i])
            )
            offset += Int(l)
        }
        return (out, r.link)
    }

    /// The interface's counters (Nic.Counter order, docs/nic.md).
    public func stats() throws(RPCError) -> [UInt64] { try nic.stats().counters }

    /// Close the port on the server, then the connection.
    public func close() {
        _ = try? nic.close()
        rpc.close()
    }
}
