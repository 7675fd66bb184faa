import Glibc
import RPCClient
import RPCInterfaces
import RPCWire

/// A client of the block server (Interfaces/blk.idl, docs/block.md): the
/// server's socket, its device names, and opening devices.
public final class BlockServerClient: Sendable {
    public let rpc: RPCClient
    let blk: BlkClient

    /// Connect to the block server at `socket` (HELLO requires blk v1; the
    /// queue of v2 is used when the device offers it).
    /// `ring`: carry the calls over the shared-memory call rings (protocol
    /// §11) when the server offers them; devices opened through this client
    /// use them too. Default: HUSK_RPC_RING=1 in the environment.
    public init(socket: String, timeoutSeconds: Double = 10, ring: Bool = RPCClient.ringByDefault) throws(RPCError) {
        rpc = try RPCClient.connect(
            path: socket, require: [(Blk.interfaceID, 1)],
            timeoutSeconds: timeoutSeconds, ring: ring)
        blk = BlkClient(rpc)
    }

    /// Names of the devices the server exports, sorted.
    public func devices() throws(RPCError) -> [String] {
        let names = try blk.devices().names
        return names.isEmpty ? [] : names.split(separator: "\n").map(String.init)
    }

    /// Open `name`; `window` bytes of shared memory are registered on the
    /// device's connection for transfers (larger transfers go in pieces).
    /// `queue`: set up the device's block queue (`queueEntries` entries,
    /// buffers in the window) when the server offers it, and carry reads,
    /// writes and flushes over it; otherwise (or when it is refused) they
    /// are blk.read/write/flush calls. Default: unless HUSK_BLK_QUEUE=0.
    public func open(
        _ name: String, writable: Bool, window: Int = 4 << 20, queue: Bool = BlockQueue.enabledByDefault,
        queueEntries: UInt32 = 64
    ) throws(RPCError) -> BlockDevice {
        let fd = try blk.open(name: name, mode: writable ? 2 : 1).device
        let conn = try RPCClient.adopt(fd: fd, require: [(Blk.interfaceID, 1)], parent: rpc)
        return try BlockDevice(name: name, rpc: conn, window: window, queue: queue ? queueEntries : 0)
    }
}

/// An open device: its geometry, and reads and writes through a registered
/// shared memory window.
public final class BlockDevice: @unchecked Sendable {
    // @unchecked: geometry is immutable; the window is used by one caller at
    // a time (`lock`-free by contract: one thread per BlockDevice).
    public let name: String
    public let rpc: RPCClient
    public let blk: BlkClient
    public let blockSize: UInt32
    public let blockCount: UInt64
    public let readOnly: Bool
    public let features: UInt32
    public let window: SharedMemory
    /// The device's block queue, when one is set up (buffers in `window`).
    public let queue: BlockQueue?

    init(name: String, rpc: RPCClient, window size: Int, queue entries: UInt32) throws(RPCError) {
        self.name = name
        self.rpc = rpc
        blk = BlkClient(rpc)
        let st = try blk.getStatus()
        blockSize = st.blockSize
        blockCount = st.blockCount
        readOnly = st.readOnly
        features = st.features
        window = try rpc.registerSharedMemory(size: size)
        let offered = features & 4 != 0 && (rpc.server.interfaces[Blk.interfaceID] ?? 0) >= 2
        queue = entries > 0 && offered ? try? BlockQueue(rpc: rpc, blk: blk, region: window, entries: entries) : nil
    }

    public var sizeBytes: UInt64 { blockCount * UInt64(blockSize) }

    /// Read `length` bytes at `offset` (whole blocks) into `into`, in
    /// window-sized pieces.
    public func read(offset: UInt64, length: Int, into: UnsafeMutableRawPointer) throws(RPCError) {
        var done = 0
        while done < length {
            let n = min(window.size, length - done)
            if let queue {
                try queue.run(.read, offset: offset + UInt64(done), length: n)
            } else {
                _ = try blk.read(offset: offset + UInt64(done), buffer: window.ref(offset: 0, length: UInt64(n)))
            }
            (into + done).copyMemory(from: window.base, byteCount: n)
            done += n
        }
    }

    public func read(offset: UInt64, length: Int) throws(RPCError) -> [UInt8] {
        if length == 0 { return [] }
        var out = [UInt8](repeating: 0, count: length)
        var failure: RPCError?
        out.withUnsafeMutableBytes { b in
            do throws(RPCError) { try read(offset: offset, length: length, into: b.baseAddress!) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }

    /// Write `length` bytes from `from` at `offset` (whole blocks).
    public func write(offset: UInt64, from: UnsafeRawPointer, length: Int) throws(RPCError) {
        var done = 0
        while done < length {
            let n = min(window.size, length - done)
            window.base.copyMemory(from: from + done, byteCount: n)
            if let queue {
                try queue.run(.write, offset: offset + UInt64(done), length: n)
            } else {
                _ = try blk.write(offset: offset + UInt64(done), buffer: window.ref(offset: 0, length: UInt64(n)))
            }
            done += n
        }
    }

    public func write(offset: UInt64, _ bytes: [UInt8]) throws(RPCError) {
        if bytes.isEmpty { return }
        var failure: RPCError?
        bytes.withUnsafeBytes { b in
            do throws(RPCError) { try write(offset: offset, from: b.baseAddress!, length: b.count) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public func flush() throws(RPCError) {
        if let queue { return try queue.run(.flush, offset: 0, length: 0) }
        _ = try blk.flush()
    }

    /// Close the device on the server, then the connection.
    public func close() {
        _ = try? blk.close()
        rpc.close()
    }
}
