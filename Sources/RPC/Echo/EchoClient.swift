import RPCClient
import RPCInterfaces
import RPCTransport
import RPCWire

/// A connection to an echo server: the RPC client plus the generated typed
/// client (RPCInterfaces.EchoClient), with plain return values for tools
/// and tests.
public struct EchoSession: Sendable {
    public let rpc: RPCClient
    public let typed: RPCInterfaces.EchoClient

    public init(_ rpc: RPCClient) {
        self.rpc = rpc
        typed = RPCInterfaces.EchoClient(rpc)
    }

    public static func connect(path: String) throws(RPCError) -> EchoSession {
        EchoSession(try RPCClient.connect(path: path, require: [(Echo.interfaceID, Echo.interfaceVersion)]))
    }

    /// Request payload of sleep(ms), for RPCClient.start()/cancel() use.
    public static func sleepPayload(ms: UInt32) -> [UInt8] { Echo.SleepRequest(ms: ms).encode() }

    /// The sleep reply of a call started with RPCClient.start (slept ms).
    public static func decodeSleepReply(_ payload: [UInt8]) throws(RPCError) -> UInt32 {
        let reply = Echo.SleepReply.decode(payload)
        guard let reply else { throw RPCError(RPCStatus.proto, "malformed sleep reply") }
        return reply.sleptMs
    }

    public func ping() throws(RPCError) { try typed.ping() }
    public func echo(_ data: [UInt8]) throws(RPCError) -> [UInt8] { try typed.echo(data: data).data }

    public func stat() throws(RPCError) -> (uptimeNanos: UInt64, calls: UInt64) {
        let r = try typed.stat()
        return (r.uptimeNs, r.calls)
    }

    public func sleep(ms: UInt32) throws(RPCError) -> UInt32 { try typed.sleep(ms: ms).sleptMs }

    public func checksum(_ ref: SharedMemoryRef) throws(RPCError) -> (crc32c: UInt32, length: UInt64) {
        let r = try typed.checksum(data: ref)
        return (r.crc32c, r.length)
    }

    /// The reply carries `signal`; RPCClient raises it in this thread before returning.
    public func raise(signal: UInt32) throws(RPCError) { try typed.raise(signal: signal) }

    public func whoami() throws(RPCError) -> (uid: UInt32, gid: UInt32, groups: [UInt32]) {
        let r = try typed.whoami()
        return (r.uid, r.gid, r.groups)
    }

    /// notify(delay_ms, signal): the server posts an EVENT `delayMs` later
    /// (register a signal for it with RPCClient.registerEventSignal).
    public func notify(delayMs: UInt32, signal: UInt32) throws(RPCError) { _ = try typed.notify(delayMs: delayMs, signal: signal) }

    /// open(name): the descriptor of a new object connection (caller owns it).
    public func open(name: String) throws(RPCError) -> Int32 { try typed.open(name: name).object }
}
