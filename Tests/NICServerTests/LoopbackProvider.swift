import Glibc
import GlueAPI
import HypercallABI
import Synchronization

/// A NIC provided by the test, registered straight in the glue's registry:
/// it records what it is asked to transmit and lends frames the test hands
/// it, so the server above it can be checked frame by frame (a stand-in for
/// the driver only; the server, the RPC and the client are the real ones).
final class TestProvider: @unchecked Sendable {
    // @unchecked: recorders behind Mutexes; `nif` is set once in init.
    let transmitted = Mutex<[[UInt8]]>([])
    let lent = Mutex<Int>(0)
    private var nif: UnsafeMutablePointer<netif>
    let mtu: UInt32 = 1500

    init(name: String) {
        nif = .allocate(capacity: 1)
        nif.initialize(to: netif())
        nif.pointee.name = UnsafePointer(strdup(name))
        nif.pointee.info = netif_info(mac: (0x52, 0x54, 0, 0xab, 0xcd, 0xef), reserved: 0, mtu: mtu, offloads: 0, link: NETIF_LINK_UP)
        nif.pointee.transmit = { priv, frame, len in
            Unmanaged<TestProvider>.fromOpaque(priv!).takeUnretainedValue().transmitted.withLock {
                $0.append(Array(UnsafeRawBufferPointer(start: frame, count: len)))
            }
            return HUSK_OK
        }
        nif.pointee.rx_return = { priv, frame in
            Unmanaged<TestProvider>.fromOpaque(priv!).takeUnretainedValue().lent.withLock { $0 -= 1 }
            free(frame)
        }
        nif.pointee.priv = Unmanaged.passUnretained(self).toOpaque()
    }

    func register() -> Int32 { glue_netif_register(nif) }
    func unregister() { glue_netif_unregister(nif) }

    /// Receive `bytes` as if from the wire: a buffer of ours lent to the consumer.
    @discardableResult
    func deliver(_ bytes: [UInt8]) -> Int32 {
        let buffer = malloc(bytes.count)!
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        lent.withLock { $0 += 1 }
        let r = glue_netif_input(nif, buffer, bytes.count)
        if r != HUSK_OK {
            lent.withLock { $0 -= 1 }
            free(buffer)
        }
        return r
    }

    func setLink(_ up: Bool) { glue_netif_link(nif, up ? NETIF_LINK_UP : NETIF_LINK_DOWN) }

    /// An Ethernet frame of `len` bytes (local experimental type 0x88b5), payload from `seed`.
    static func frame(_ len: Int, seed: UInt8) -> [UInt8] {
        var f = [UInt8](repeating: 0xff, count: 6) + [0x52, 0x54, 0, 0xab, 0xcd, 0xef, 0x88, 0xb5]
        f += (0..<max(0, len - 14)).map { UInt8(truncatingIfNeeded: $0 &+ Int(seed)) }
        return f
    }
}
