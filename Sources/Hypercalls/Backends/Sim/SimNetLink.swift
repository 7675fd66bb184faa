import HypercallABI
import Hypercalls
import Platform

/// A back-to-back cable between two sim NICs of this process, found by name
/// (`virtio-net:link=NAME`): what one transmits, the other receives. A third
/// NIC is refused; a NIC alone on its link transmits into nothing (its
/// frames are counted as txNoPeer). The link holds its NICs weakly, so a
/// forgotten backend never keeps a name taken.
final class SimNetLink: SimNetMedium, @unchecked Sendable {
    // @unchecked: `ends` is only touched with `SimNetLink.all` locked.
    private struct End {
        weak var nic: SimVirtioNet?
    }

    private static let all = Locked<[String: SimNetLink]>([:])

    let name: String
    private var ends: [End] = []

    private init(name: String) { self.name = name }

    var label: String { "link \(name)" }

    /// Plug `nic` into the link called `name`, creating it if needed.
    static func join(_ name: String, _ nic: SimVirtioNet) throws(HypError) -> SimNetLink {
        guard isValidName(name) else { throw .inval("link name '\(name)' must be 1 to 32 letters, digits, '-', '_' or '.'") }
        return try all.withLock { (links: inout [String: SimNetLink]) throws(HypError) -> SimNetLink in
            let link = links[name] ?? SimNetLink(name: name)
            link.ends.removeAll { $0.nic == nil }
            guard link.ends.count < 2 else {
                let macs = link.ends.compactMap { $0.nic.map { SimVirtioNet.format($0.mac) } }.joined(separator: " and ")
                throw HypError(HUSK_EBUSY, "link '\(name)' already joins two NICs (\(macs)): a link is one back-to-back cable")
            }
            link.ends.append(End(nic: nic))
            links[name] = link
            return link
        }
    }

    func carry(_ frame: UnsafeRawBufferPointer, from nic: SimVirtioNet) -> SimNetDelivery {
        let peer = SimNetLink.all.withLock { _ in ends.lazy.compactMap(\.nic).first { $0 !== nic } }
        guard let peer else { return .noPeer }
        // Without any lock of ours or of the sender: the peer takes its own.
        peer.receiveFromWire(frame)
        return .delivered
    }

    func detach(_ nic: SimVirtioNet) {
        SimNetLink.all.withLock { links in
            ends.removeAll { $0.nic == nil || $0.nic === nic }
            if ends.isEmpty && links[name] === self { links[name] = nil }
        }
    }

    private static func isValidName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count)
            && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f
            }
    }
}
