import RPCWire

/// Fuzz the wire decoders directly, with invariants:
///
/// - `RPCHeader.decode` of the input (as a message carrying `data[4] & 15`
///   descriptors): when it accepts, re-encoding gives back the 40 bytes.
/// - `PayloadReader` driven by a program: the first byte's low 5 bits are the
///   number of operation bytes that follow, the rest is the payload. Each
///   operation byte picks an accessor (and, for `count`, a minimum element
///   size). A successful read must consume exactly the bytes PayloadWriter
///   produces for the value read; a failed read must not move the reader;
///   the reader never goes past the end.
///
/// Returns the broken invariants (empty when all is well).
public func checkPayloadDecoding(_ data: UnsafeRawBufferPointer) -> [String] {
    var problems: [String] = []

    let fds = data.count > 4 ? Int(data[4] & 15) : 0
    if case .success(let h) = RPCHeader.decode(data, messageLength: data.count, fdsReceived: fds) {
        if h.encoded() != Array(data.prefix(RPCHeader.size)) { problems.append("header re-encodes differently") }
        if Int(h.payloadLength) != data.count - RPCHeader.size { problems.append("header accepted a wrong length") }
    }

    guard let first = data.first else { return problems }
    let nOps = min(Int(first & 31), data.count - 1)
    let ops = data[1..<1 + nOps]
    let payload = UnsafeRawBufferPointer(rebasing: data[(1 + nOps)...])
    var r = PayloadReader(payload)
    for op in ops {
        let before = r.offset
        var w = PayloadWriter()
        let ok: Bool
        switch op % 11 {
        case 0:
            if let v = r.u8() {
                w.u8(v)
                ok = true
            } else {
                ok = false
            }
        case 1:
            if let v = r.u16() {
                w.u16(v)
                ok = true
            } else {
                ok = false
            }
        case 2:
            if let v = r.u32() {
                w.u32(v)
                ok = true
            } else {
                ok = false
            }
        case 3:
            if let v = r.u64() {
                w.u64(v)
                ok = true
            } else {
                ok = false
            }
        case 4:
            if let v = r.i32() {
                w.i32(v)
                ok = true
            } else {
                ok = false
            }
        case 5:
            if let v = r.i64() {
                w.i64(v)
                ok = true
            } else {
                ok = false
            }
        case 6:
            if let v = r.bool() {
                w.bool(v)
                ok = true
            } else {
                ok = false
            }
        case 7:
            if let v = r.bytes() {
                w.bytes(v)
                ok = true
            } else {
                ok = false
            }
        case 8:
            if let v = r.string() {
                w.string(v)
                ok = true
            } else {
                ok = false
            }
        case 9:
            if let v = r.shm() {
                w.shm(v)
                ok = true
            } else {
                ok = false
            }
        default:
            let size = Int(op >> 4)
            if let n = r.count(minElementSize: size) {
                w.u32(UInt32(n))
                ok = true
                if n > 0 && n * max(size, 1) > r.remaining { problems.append("count \(n) x \(size) bytes but \(r.remaining) remain") }
            } else {
                ok = false
            }
        }
        if r.offset > payload.count || r.remaining != payload.count - r.offset || r.isAtEnd != (r.offset == payload.count) {
            problems.append("reader offset \(r.offset) outside a payload of \(payload.count)")
            break
        }
        if ok {
            let consumed = Array(UnsafeRawBufferPointer(rebasing: payload[before..<r.offset]))
            if consumed != w.bytes { problems.append("op \(op % 11) consumed \(consumed.count) bytes that do not re-encode the same") }
        } else if r.offset != before {
            problems.append("op \(op % 11) failed but moved the reader from \(before) to \(r.offset)")
        }
    }
    return problems
}

/// The fuzz entry for the decoders: checkPayloadDecoding, trapping on any
/// broken invariant.
public func fuzzPayloadDecoding(_ data: UnsafeRawBufferPointer) {
    let problems = checkPayloadDecoding(data)
    if !problems.isEmpty { fatalError("RPC decoder invariant broken: " + problems.joined(separator: "; ")) }
}
