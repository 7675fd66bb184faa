import RPCClient
import RPCTransport
import RPCWire

/// A typed client for the echo interface over RPCClient (hand-written, like
/// EchoHandler, until the generated client exists). Every method throws the
/// reply's status as RPCError.
public struct EchoClient: Sendable {
    public let rpc: RPCClient
    public init(_ rpc: RPCClient) { self.rpc = rpc }

    public static func connect(path: String) throws(RPCError) -> EchoClient {
        EchoClient(try RPCClient.connect(path: path, require: [(EchoHandler.id, EchoHandler.version)]))
    }

    func call(_ op: UInt32, _ w: PayloadWriter = PayloadWriter(), fds: [Int32] = []) throws(RPCError) -> RPCResponse {
        try rpc.call(interface: EchoHandler.id, operation: op, payload: w.bytes, descriptors: fds, idempotent: false)
    }

    public static func decode<T>(_ r: RPCResponse, _ body: (inout PayloadReader) -> T?) throws(RPCError) -> T {
        let v: T? = r.payload.withUnsafeBytes { b in
            var rd = PayloadReader(b)
            guard let v = body(&rd), rd.isAtEnd else { return nil }
            return v
        }
        guard let v else { throw RPCError(RPCStatus.proto, "malformed reply") }
        return v
    }

    public func ping() throws(RPCError) { _ = try call(EchoHandler.Op.ping) }

    public func echo(_ data: [UInt8]) throws(RPCError) -> [UInt8] {
        var w = PayloadWriter(); w.bytes(data)
        return try Self.decode(try call(EchoHandler.Op.echo, w)) { $0.bytes() }
    }

    public func stat() throws(RPCError) -> (uptimeNanos: UInt64, calls: UInt64) {
        try Self.decode(try call(EchoHandler.Op.stat)) { r in
            guard let u = r.u64(), let c = r.u64() else { return nil }
            return (u, c)
        }
    }

    /// Request payload of sleep(ms), for start()/cancel() use.
    public static func sleepPayload(ms: UInt32) -> [UInt8] { var w = PayloadWriter(); w.u32(ms); return w.bytes }

    public func sleep(ms: UInt32) throws(RPCError) -> UInt32 {
        var w = PayloadWriter(); w.u32(ms)
        return try Self.decode(try call(EchoHandler.Op.sleep, w)) { $0.u32() }
    }

    public func checksum(_ ref: SharedMemoryRef) throws(RPCError) -> (crc32c: UInt32, length: UInt64) {
        var w = PayloadWriter(); w.shm(ref)
        return try Self.decode(try call(EchoHandler.Op.checksum, w)) { r in
            guard let c = r.u32(), let l = r.u64() else { return nil }
            return (c, l)
        }
    }

    /// The reply carries `signal`; RPCClient raises it in this thread before returning.
    public func raise(signal: UInt32) throws(RPCError) {
        var w = PayloadWriter(); w.u32(signal)
        _ = try call(EchoHandler.Op.raise, w)
    }

    public func whoami() throws(RPCError) -> (uid: UInt32, gid: UInt32, groups: [UInt32]) {
        try Self.decode(try call(EchoHandler.Op.whoami)) { r in
            guard let u = r.u32(), let g = r.u32(), let n = r.count(minElementSize: 4) else { return nil }
            var gs: [UInt32] = []
            for _ in 0..<n { guard let x = r.u32() else { return nil }; gs.append(x) }
            return (u, g, gs)
        }
    }

    /// open(name): the descriptor of a new object connection (caller owns it).
    public func open(name: String) throws(RPCError) -> Int32 {
        var w = PayloadWriter(); w.string(name)
        let r = try call(EchoHandler.Op.open, w)
        guard r.payload.isEmpty, r.descriptors.count == 1 else {
            closeDescriptors(r.descriptors)
            throw RPCError(RPCStatus.proto, "open: expected one descriptor and no payload")
        }
        return r.descriptors[0]
    }
}
