import GlueAPI
import HypercallABI

// Module parameters of the calling component (husk/glue/param.h): one
// place that reads hyp->config_get, turns "unset" into "keep the default",
// parses flags and sizes, and logs every problem naming key and value.

@_cdecl("glue_param_string")
public func glue_param_string(
    _ key: UnsafePointer<CChar>?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
    _ present: UnsafeMutablePointer<Bool>?
) -> Int32 {
    let ctx = Hyp.current("glue_param_string")
    guard let key, let buf, let present else {
        Hyp.panic(ctx, "glue_param_string: key, buf and present must not be NULL")
    }
    if cap < 1 { Hyp.panic(ctx, "glue_param_string(\(String(cString: key))): cap must be at least 1") }
    present.pointee = false
    var len: UInt64 = 0
    let r = Hyp.table.pointee.config_get!(ctx, key, buf, UInt64(cap), &len)
    switch r {
    case HUSK_OK:
        present.pointee = true
        return HUSK_OK
    case HUSK_ENOENT:
        return HUSK_OK
    case HUSK_ERANGE:
        Param.error(ctx, "parameter \(String(cString: key)) is too long (\(len) bytes, at most \(cap - 1))")
        return HUSK_EINVAL
    default:
        Param.error(ctx, "cannot read parameter \(String(cString: key)): \(Hyp.errorName(r))")
        return r
    }
}

@_cdecl("glue_param_bool")
public func glue_param_bool(_ key: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Bool>?) -> Int32 {
    let ctx = Hyp.current("glue_param_bool")
    guard let key, let out else { Hyp.panic(ctx, "glue_param_bool: key and out must not be NULL") }
    let v: [UInt8]
    switch Param.fetch(ctx, key) {
    case .unset: return HUSK_OK
    case .failed(let r): return r
    case .value(let bytes): v = bytes
    }
    if v == [UInt8(ascii: "1")] {
        out.pointee = true
    } else if v == [UInt8(ascii: "0")] {
        out.pointee = false
    } else {
        Param.error(ctx, "parameter \(String(cString: key)) must be 0 or 1, not '\(Param.shown(v))'")
        return HUSK_EINVAL
    }
    return HUSK_OK
}

@_cdecl("glue_param_u64")
public func glue_param_u64(
    _ key: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<UInt64>?, _ min: UInt64,
    _ max: UInt64
) -> Int32 {
    let ctx = Hyp.current("glue_param_u64")
    guard let key, let out else { Hyp.panic(ctx, "glue_param_u64: key and out must not be NULL") }
    let name = String(cString: key)
    if min > max { Hyp.panic(ctx, "glue_param_u64(\(name)): min \(min) > max \(max)") }
    let v: [UInt8]
    switch Param.fetch(ctx, key) {
    case .unset: return HUSK_OK
    case .failed(let r): return r
    case .value(let bytes): v = bytes
    }
    let range = "from \(min) to \(max)"
    switch Param.parseNumber(v) {
    case .notANumber:
        Param.error(
            ctx,
            "parameter \(name)='\(Param.shown(v))' is not a number (decimal digits, optional "
                + "suffix K, M or G = 2^10, 2^20, 2^30): must be \(range)")
        return HUSK_EINVAL
    case .overflow:
        Param.error(
            ctx,
            "parameter \(name)='\(Param.shown(v))' is out of range (does not fit in 64 bits): "
                + "must be \(range)")
        return HUSK_EINVAL
    case .number(let n):
        guard n >= min && n <= max else {
            let shown = Param.shown(v)
            let bytes = shown == String(n) ? "" : " (\(n))"
            Param.error(ctx, "parameter \(name)='\(shown)'\(bytes) is out of range: must be \(range)")
            return HUSK_EINVAL
        }
        out.pointee = n
        return HUSK_OK
    }
}

enum Param {
    enum Fetched { case unset, value([UInt8]), failed(Int32) }
    enum Number: Equatable { case number(UInt64), notANumber, overflow }

    /// Longest value fetched whole for a message; longer ones are described
    /// by their length (no flag or number is anywhere near as long).
    static let longestShown = 4096

    static func error(_ ctx: OpaquePointer, _ msg: String) { Hyp.log(ctx, Int32(HUSK_LOG_ERROR), msg) }

    /// The whole value of key, for the parsing functions: their values are
    /// short, but a wrong long one is still read so the message can show it.
    static func fetch(_ ctx: OpaquePointer, _ key: UnsafePointer<CChar>) -> Fetched {
        var cap = 64
        for _ in 0..<3 {  // the second read fits unless the value changed meanwhile
            var buf = [CChar](repeating: 0, count: cap)
            var len: UInt64 = 0
            let r = buf.withUnsafeMutableBufferPointer {
                Hyp.table.pointee.config_get!(ctx, key, $0.baseAddress, UInt64(cap), &len)
            }
            switch r {
            case HUSK_OK:
                let n = Swift.min(Int(clamping: len), cap - 1)
                return .value(buf[..<n].map { UInt8(bitPattern: $0) })
            case HUSK_ENOENT:
                return .unset
            case HUSK_ERANGE where len < UInt64(longestShown):
                cap = Int(len) + 1
            case HUSK_ERANGE:
                error(ctx, "parameter \(String(cString: key)) is too long (\(len) bytes) to be a flag or a number")
                return .failed(HUSK_EINVAL)
            default:
                error(ctx, "cannot read parameter \(String(cString: key)): \(Hyp.errorName(r))")
                return .failed(r)
            }
        }
        error(ctx, "cannot read parameter \(String(cString: key)): its length keeps changing")
        return .failed(HUSK_EIO)
    }

    /// Decimal digits and an optional binary suffix (K, M, G in either case).
    static func parseNumber(_ v: [UInt8]) -> Number {
        var digits = v[...]
        var shift: UInt64 = 0
        switch v.last {
        case UInt8(ascii: "k"), UInt8(ascii: "K"): shift = 10
        case UInt8(ascii: "m"), UInt8(ascii: "M"): shift = 20
        case UInt8(ascii: "g"), UInt8(ascii: "G"): shift = 30
        default: break
        }
        if shift != 0 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return .notANumber
        }
        var n: UInt64 = 0
        for d in digits {
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            if o1 || o2 { return .overflow }
            n = s
        }
        if n > UInt64.max >> shift { return .overflow }
        return .number(n << shift)
    }

    /// A value as it appears in a message: at most 64 characters, control
    /// characters (which would break the log line) as '?'.
    static func shown(_ v: [UInt8]) -> String {
        let cut = v.count > 64
        let bytes = (cut ? Array(v.prefix(64)) : v).map { $0 < 0x20 || $0 == 0x7f ? UInt8(ascii: "?") : $0 }
        return String(decoding: bytes, as: UTF8.self) + (cut ? "... (\(v.count) bytes)" : "")
    }
}
