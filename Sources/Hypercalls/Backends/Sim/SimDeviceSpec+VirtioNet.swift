import HypercallABI
import Hypercalls

/// `virtio-net:` specs: where the cable goes (exactly one of `link=NAME`,
/// two NICs of this process back to back, or `tap=IFNAME`, a host TAP),
/// and optionally `mac=`, `mtu=` and `down` (the link starts down; the
/// status is not spelt `link=down` because `link=` names the cable).
extension SimDeviceSpec {
    static let netKeys = ["link", "tap", "mac", "mtu", "down"]

    static func virtioNet(_ spec: String, _ options: [(String, String?)]) throws(HypError) -> any SimDevice {
        var link: String?, tap: String?, mac: [UInt8]?, mtu: Int?, down = false
        var seen = Set<String>()
        for (key, value) in options {
            guard netKeys.contains(key) else {
                throw .inval("sim spec '\(spec)': unknown virtio-net option '\(key)'; valid options: \(netKeys.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw .inval("sim spec '\(spec)': option '\(key)' given twice") }
            func need() throws(HypError) -> String {
                guard let value, !value.isEmpty else { throw .inval("sim spec '\(spec)': option '\(key)' needs a value") }
                return value
            }
            switch key {
            case "link": link = try need()
            case "tap": tap = try need()
            case "mac":
                let text = try need()
                guard let m = parseMAC(text), m[0] & 1 == 0, m != [0, 0, 0, 0, 0, 0] else {
                    throw .inval("sim spec '\(spec)': mac '\(text)' is not a unicast address like 52:54:00:12:34:56")
                }
                mac = m
            case "mtu":
                let text = try need()
                guard let n = Int(text), VirtioNet.mtuRange.contains(n) else {
                    throw .inval(
                        "sim spec '\(spec)': mtu '\(text)' is not a number in \(VirtioNet.mtuRange.lowerBound)...\(VirtioNet.mtuRange.upperBound)"
                    )
                }
                mtu = n
            default:  // down
                guard let on = parseFlag(value) else { throw .inval("sim spec '\(spec)': down takes no value (or on/off)") }
                down = on
            }
        }
        let nic = try SimVirtioNet(mac: mac, mtu: mtu, linkUp: !down)
        do throws(HypError) {
            switch (link, tap) {
            case (let name?, nil): try nic.plug(intoLink: name)
            case (nil, let name?): try nic.plug(intoTap: name)
            default: throw HypError.inval("virtio-net needs exactly one of link=NAME or tap=IFNAME")
            }
        } catch {
            throw HypError(error.code, "sim spec '\(spec)': \(error.detail)")
        }
        return nic
    }

    /// "52:54:00:12:34:56" (or with '-'): six two-digit hex octets.
    static func parseMAC(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: text.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard p.count == 2, p.allSatisfy(\.isHexDigit), let b = UInt8(p, radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }
}
