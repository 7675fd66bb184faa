/// The few Ethernet, ARP, IPv4 and ICMP frames `husk nic probe` builds and
/// parses (RFC 826, RFC 791, RFC 792); every read is bounds-checked.
enum Ethernet {
    static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    static func header(to dst: [UInt8], from src: [UInt8], type: UInt16) -> [UInt8] {
        dst + src + [UInt8(type >> 8), UInt8(type & 0xff)]
    }
    static func type(of f: [UInt8]) -> UInt16? { f.count >= 14 ? UInt16(f[12]) << 8 | UInt16(f[13]) : nil }
    /// Ethernet pads frames to 60 bytes (without FCS).
    static func padded(_ f: [UInt8]) -> [UInt8] { f.count >= 60 ? f : f + [UInt8](repeating: 0, count: 60 - f.count) }
}

enum ARP {
    struct Request {
        let senderMAC: [UInt8]
        let senderIP: IPv4
    }

    static func request(from mac: [UInt8], ip: IPv4, asking target: IPv4) -> [UInt8] {
        Ethernet.padded(Ethernet.header(to: Ethernet.broadcast, from: mac, type: 0x0806) + body(op: 1, mac, ip, [0, 0, 0, 0, 0, 0], target))
    }

    static func reply(to r: Request, from mac: [UInt8], ip: IPv4) -> [UInt8] {
        Ethernet.padded(Ethernet.header(to: r.senderMAC, from: mac, type: 0x0806) + body(op: 2, mac, ip, r.senderMAC, r.senderIP))
    }

    private static func body(op: UInt8, _ sha: [UInt8], _ spa: IPv4, _ tha: [UInt8], _ tpa: IPv4) -> [UInt8] {
        [0, 1, 0x08, 0x00, 6, 4, 0, op] + sha + spa.bytes + tha + tpa.bytes
    }

    /// An ARP request for `ip` in frame f.
    static func request(in f: [UInt8], for ip: IPv4) -> Request? {
        guard Ethernet.type(of: f) == 0x0806, f.count >= 42, f[21] == 1, IPv4(bytes: f[38..<42]) == ip else { return nil }
        return Request(senderMAC: Array(f[22..<28]), senderIP: IPv4(bytes: f[28..<32]))
    }

    /// The MAC `ip` announces in an ARP reply to `me` in frame f.
    static func replySender(in f: [UInt8], ip: IPv4, to me: IPv4) -> [UInt8]? {
        guard Ethernet.type(of: f) == 0x0806, f.count >= 42, f[21] == 2,
            IPv4(bytes: f[28..<32]) == ip, IPv4(bytes: f[38..<42]) == me
        else { return nil }
        return Array(f[22..<28])
    }
}

enum ICMPEcho {
    /// RFC 1071 ones'-complement sum.
    static func checksum(_ b: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var i = b.startIndex
        while i + 1 < b.endIndex {
            sum &+= UInt32(b[i]) << 8 | UInt32(b[i + 1])
            i += 2
        }
        if i < b.endIndex { sum &+= UInt32(b[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func request(
        from mac: [UInt8], to peer: [UInt8], src: IPv4, dst: IPv4, id: UInt16, sequence: UInt16,
        payload: [UInt8]
    ) -> [UInt8] {
        var icmp: [UInt8] = [8, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)] + payload
        let c = checksum(icmp[...])
        icmp[2] = UInt8(c >> 8)
        icmp[3] = UInt8(c & 0xff)
        let total = 20 + icmp.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0x40, 0, 64, 1, 0, 0] + src.bytes + dst.bytes
        let h = checksum(ip[...])
        ip[10] = UInt8(h >> 8)
        ip[11] = UInt8(h & 0xff)
        return Ethernet.padded(Ethernet.header(to: peer, from: mac, type: 0x0800) + ip + icmp)
    }

    /// An echo reply from `ip` with this id, sequence and payload, its
    /// checksum right.
    static func isReply(_ f: [UInt8], from ip: IPv4, id: UInt16, sequence: UInt16, payload: [UInt8]) -> Bool {
        guard Ethernet.type(of: f) == 0x0800, f.count >= 34, f[14] >> 4 == 4, f[23] == 1,
            IPv4(bytes: f[26..<30]) == ip
        else { return false }
        let ihl = Int(f[14] & 0x0f) * 4
        let total = Int(f[16]) << 8 | Int(f[17])
        let start = 14 + ihl, end = 14 + total
        guard ihl >= 20, end <= f.count, end - start >= 8 + payload.count else { return false }
        let icmp = f[start..<end]
        return icmp[start] == 0 && checksum(icmp) == 0
            && UInt16(icmp[start + 4]) << 8 | UInt16(icmp[start + 5]) == id
            && UInt16(icmp[start + 6]) << 8 | UInt16(icmp[start + 7]) == sequence
            && Array(icmp[(start + 8)..<(start + 8 + payload.count)]) == payload
    }
}
