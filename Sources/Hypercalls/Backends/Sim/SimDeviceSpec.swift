import Hypercalls

/// Device specs for the sim backend, `KIND[:key=value,...]`:
///
///     virtio-blk:image=PATH[,ro][,cache=volatile|writethrough][,blksize=512|4096]
///     virtio-blk:size=16M[,ro][,cache=...][,blksize=...]     (in memory)
///     virtio-net:link=NAME[,mac=52:54:00:xx:xx:xx][,mtu=N][,down]
///     virtio-net:tap=IFNAME[,mac=...][,mtu=N][,down]
///     edu
///
/// Mistakes are refused with HypError.inval naming what is valid.
public enum SimDeviceSpec {
    public static let kinds = ["virtio-blk", "virtio-net", "edu"]
    static let blkKeys = ["image", "size", "ro", "cache", "blksize"]

    public static func make(_ spec: String) throws(HypError) -> any SimDevice {
        let (kind, rest) = split(spec, at: ":")
        var options: [(String, String?)] = []
        if let rest, !rest.isEmpty {
            for item in rest.split(separator: ",", omittingEmptySubsequences: false) {
                let (k, v) = split(String(item), at: "=")
                guard !k.isEmpty else { throw .inval("sim spec '\(spec)': empty option") }
                options.append((k, v))
            }
        }
        switch kind {
        case "virtio-blk": return try virtioBlk(spec, options)
        case "virtio-net": return try virtioNet(spec, options)
        case "edu":
            guard options.isEmpty else {
                throw .inval("sim spec '\(spec)': edu takes no options")
            }
            return SimEdu()
        default:
            throw .inval("sim spec '\(spec)': unknown device kind '\(kind)'; valid kinds: \(kinds.joined(separator: ", "))")
        }
    }

    private static func split(_ s: String, at c: Character) -> (String, String?) {
        guard let i = s.firstIndex(of: c) else { return (s, nil) }
        return (String(s[..<i]), String(s[s.index(after: i)...]))
    }

    private static func virtioBlk(_ spec: String, _ options: [(String, String?)]) throws(HypError) -> any SimDevice {
        var image: String?, size: UInt64?, readOnly = false, cache = SimCacheMode.volatile, blockSize = 512
        var seen = Set<String>()
        for (key, value) in options {
            guard blkKeys.contains(key) else {
                throw .inval("sim spec '\(spec)': unknown virtio-blk option '\(key)'; valid options: \(blkKeys.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw .inval("sim spec '\(spec)': option '\(key)' given twice") }
            func need() throws(HypError) -> String {
                guard let value, !value.isEmpty else { throw .inval("sim spec '\(spec)': option '\(key)' needs a value") }
                return value
            }
            switch key {
            case "image": image = try need()
            case "size":
                let text = try need()
                guard let s = parseSize(text) else {
                    throw .inval("sim spec '\(spec)': size '\(text)' is not a byte count like 65536, 64K, 16M or 1G")
                }
                size = s
            case "ro":
                guard let on = parseFlag(value) else { throw .inval("sim spec '\(spec)': ro takes no value (or on/off)") }
                readOnly = on
            case "cache":
                let text = try need()
                guard let c = SimCacheMode(rawValue: text) else {
                    throw .inval("sim spec '\(spec)': cache '\(text)'; valid values: volatile, writethrough")
                }
                cache = c
            default:  // blksize
                let text = try need()
                guard text == "512" || text == "4096" else {
                    throw .inval("sim spec '\(spec)': blksize '\(text)'; valid values: 512, 4096")
                }
                blockSize = Int(text)!
            }
        }
        switch (image, size) {
        case (let path?, nil):
            return try SimVirtioBlk(imagePath: path, blockSize: blockSize, readOnly: readOnly, cache: cache)
        case (nil, let bytes?):
            return try SimVirtioBlk(memoryBytes: bytes, blockSize: blockSize, readOnly: readOnly, cache: cache)
        default:
            throw .inval("sim spec '\(spec)': virtio-blk needs exactly one of image=PATH or size=BYTES")
        }
    }

    /// A flag option: absent value or on/off (1/0, true/false, yes/no).
    static func parseFlag(_ value: String?) -> Bool? {
        switch value?.lowercased() {
        case nil, "1", "on", "true", "yes": return true
        case "0", "off", "false", "no": return false
        default: return nil
        }
    }

    /// "65536", "64K", "16M", "1G", "1T" (binary multiples).
    static func parseSize(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var shift: UInt64 = 0
        if let last = text.last?.uppercased() {
            switch last {
            case "K": shift = 10
            case "M": shift = 20
            case "G": shift = 30
            case "T": shift = 40
            default: break
            }
            if shift != 0 { digits = digits.dropLast() }
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits) else { return nil }
        let (v, o) = n.multipliedReportingOverflow(by: 1 << shift)
        return o ? nil : v
    }
}
