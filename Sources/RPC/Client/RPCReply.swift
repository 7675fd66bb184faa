import RPCWire

/// What the server said in its HELLO reply.
public struct RPCServerInfo: Sendable {
    public var protocolVersion: UInt16
    public var name: String
    /// Versions of the interfaces asked for (0 = not offered).
    public var interfaces: [UInt32: UInt32]
    public var limits: RPCLimits
    /// The server's start epoch (protocol §4: the HELLO reply's `epoch`):
    /// a random non-zero value chosen at each server start, the same on
    /// every connection (also opened objects') to that server process.
    public var epoch: UInt32
    /// The HELLO reply's feature bits (protocol §4; RPCControl.featureRing).
    public var features: UInt16 = 0
    /// Whether this connection's calls go through the shared-memory rings
    /// (protocol §11) rather than the socket.
    public var ringActive = false
}

/// A reply with everything the wire carries (status not thrown).
public struct RPCReply: Sendable {
    public var status: Int32
    public var payload: [UInt8]
    /// Received descriptors; the caller owns them.
    public var descriptors: [Int32]
    /// A signal the server asked the client to raise (already raised in the
    /// calling thread by the time the call returns, unless disabled).
    public var signal: Int32
}
