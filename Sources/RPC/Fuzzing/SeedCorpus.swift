import RPCEcho
import RPCWire

/// The seed corpus (Fuzz/corpus/rpc/*.bin), built from the protocol rather
/// than written by hand. Tests/RPCFuzzTests checks that the committed files
/// are these; `HUSK_FUZZ_WRITE_SEEDS=1 swift test --filter RPCFuzzTests`
/// rewrites them (docs/fuzzing.md).
public enum SeedCorpus {
    /// A message: header (payload length from `payload`, `fdCount` as given,
    /// or the number of attached descriptors) and payload.
    public static func message(
        _ interface: UInt32, _ operation: UInt32, id: UInt64, flags: RPCFlags = [],
        payload: [UInt8] = [], fdCount: UInt16 = 0
    ) -> [UInt8] {
        RPCHeader(
            flags: flags, interface: interface, operation: operation, requestID: id,
            payloadLength: UInt32(payload.count), fdCount: fdCount
        ).encoded() + payload
    }

    /// A message on the control interface (docs/protocol.md §4).
    static func message(
        _ operation: RPCControl.Operation, id: UInt64, flags: RPCFlags = [], payload: [UInt8] = [], fdCount: UInt16 = 0
    ) -> [UInt8] {
        message(RPCControl.interface, operation.rawValue, id: id, flags: flags, payload: payload, fdCount: fdCount)
    }

    static func payload(_ build: (inout PayloadWriter) -> Void) -> [UInt8] {
        var w = PayloadWriter()
        build(&w)
        return w.bytes
    }

    static let helloPayload = payload {
        $0.u16(1)
        $0.u16(1)
        $0.u32(2)
        $0.u32(EchoHandler.id)
        $0.u32(1)
        $0.u32(9)
        $0.u32(1)
    }
    static let hello = FuzzRecord(message(.hello, id: 1, payload: helloPayload))
    static func echo(_ op: UInt32, id: UInt64, _ p: [UInt8] = [], flags: RPCFlags = []) -> FuzzRecord {
        FuzzRecord(message(EchoHandler.id, op, id: id, flags: flags, payload: p))
    }
    static func control(
        _ op: RPCControl.Operation, id: UInt64, _ p: [UInt8] = [], fds: Int = 0,
        kind: FuzzDescriptorKind = .devNull
    ) -> FuzzRecord {
        FuzzRecord(message(op, id: id, payload: p, fdCount: UInt16(fds)), descriptors: fds, kind: kind)
    }

    /// A payload split into MORE fragments of at most `chunk` bytes.
    static func fragments(_ interface: UInt32, _ op: UInt32, id: UInt64, payload p: [UInt8], chunk: Int) -> [FuzzRecord] {
        var out: [FuzzRecord] = []
        var i = 0
        repeat {
            let n = min(chunk, p.count - i)
            let last = i + n == p.count
            out.append(FuzzRecord(message(interface, op, id: id, flags: last ? [] : .more, payload: Array(p[i..<i + n]))))
            i += n
        } while i < p.count
        return out
    }

    static func fragments(_ op: RPCControl.Operation, id: UInt64, payload p: [UInt8], chunk: Int) -> [FuzzRecord] {
        fragments(RPCControl.interface, op.rawValue, id: id, payload: p, chunk: chunk)
    }

    static func header(_ mutate: (inout [UInt8]) -> Void) -> FuzzRecord {
        var m = message(.ping, id: 7)
        mutate(&m)
        return FuzzRecord(m)
    }

    /// name → input bytes.
    public static var all: [(name: String, bytes: [UInt8])] {
        let bytes = { (n: Int) in payload { w in w.bytes((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }) } }
        let u32 = { (v: UInt32) in payload { $0.u32(v) } }
        let shmRef = { (id: UInt32, off: UInt64, len: UInt64) in payload { $0.shm(SharedMemoryRef(id: id, offset: off, length: len)) } }
        let register = control(.registerShm, id: 2, fds: 1, kind: .sealedMemfd)
        var seeds: [(String, [FuzzRecord])] = [
            // Valid sequences.
            ("valid-hello", [hello]),
            ("valid-hello-ping-stats", [hello, control(.ping, id: 2), control(.stats, id: 3)]),
            ("valid-echo-ping", [hello, echo(EchoHandler.Op.ping, id: 2)]),
            ("valid-echo-echo", [hello, echo(EchoHandler.Op.echo, id: 2, bytes(16))]),
            ("valid-echo-stat-denied", [hello, echo(EchoHandler.Op.stat, id: 2)]),
            ("valid-echo-sleep", [hello, echo(EchoHandler.Op.sleep, id: 2, u32(1))]),
            ("valid-echo-checksum", [hello, register, echo(EchoHandler.Op.checksum, id: 3, shmRef(1, 96, 64))]),
            ("valid-echo-raise", [hello, echo(EchoHandler.Op.raise, id: 2, u32(13))]),
            ("valid-echo-whoami", [hello, echo(EchoHandler.Op.whoami, id: 2)]),
            ("valid-echo-open", [hello, echo(EchoHandler.Op.open, id: 2, payload { $0.string("obj") })]),
            (
                "valid-shm-register-unregister",
                [hello, register, control(.unregisterShm, id: 3, u32(1)), control(.unregisterShm, id: 4, u32(1))]
            ),
            (
                "valid-shm-refused",
                [
                    hello, control(.registerShm, id: 2, fds: 1, kind: .unsealedMemfd),
                    control(.registerShm, id: 3, fds: 1, kind: .emptyMemfd),
                    control(.registerShm, id: 4, fds: 1), control(.registerShm, id: 5)
                ]
            ),
            (
                "valid-shm-full",
                [
                    hello, register, control(.registerShm, id: 3, fds: 1, kind: .sealedMemfd),
                    control(.registerShm, id: 4, fds: 1, kind: .sealedMemfd)
                ]
            ),
            (
                "valid-checksum-efault",
                [
                    hello, register, echo(EchoHandler.Op.checksum, id: 3, shmRef(1, 4000, 200)),
                    echo(EchoHandler.Op.checksum, id: 4, shmRef(1, UInt64.max, 2)),
                    echo(EchoHandler.Op.checksum, id: 5, shmRef(2, 0, 1))
                ]
            ),
            (
                "valid-cancel-sleep",
                [
                    hello, echo(EchoHandler.Op.sleep, id: 2, u32(1)),
                    FuzzRecord(message(EchoHandler.id, EchoHandler.Op.sleep, id: 2, flags: .cancel)),
                    FuzzRecord(message(EchoHandler.id, EchoHandler.Op.sleep, id: 99, flags: .cancel))
                ]
            ),
            (
                "valid-close-with-calls-in-flight",
                [
                    hello, echo(EchoHandler.Op.sleep, id: 2, u32(1)), control(.ping, id: 3),
                    FuzzRecord(message(EchoHandler.id, EchoHandler.Op.echo, id: 4, payload: bytes(4)), closeAfter: true),
                    control(.ping, id: 5)
                ]
            ),
            ("valid-backpressure", [hello] + (2..<14).map { echo(EchoHandler.Op.sleep, id: UInt64($0), u32(1)) }),
            ("valid-fragments-echo", [hello] + fragments(EchoHandler.id, EchoHandler.Op.echo, id: 2, payload: bytes(10_000), chunk: 4000)),
            (
                "err-fragments-control",
                [hello] + fragments(.ping, id: 2, payload: [], chunk: 1) + fragments(.stats, id: 3, payload: [1, 2], chunk: 1)
            ),
            (
                "valid-fragments-register-shm",
                [
                    hello, FuzzRecord(message(.registerShm, id: 2, flags: .more, fdCount: 1), descriptors: 1, kind: .sealedMemfd),
                    FuzzRecord(message(.registerShm, id: 2))
                ]
            ),
            // Invalid: protocol errors (the connection is closed).
            ("bad-garbage", [FuzzRecord(Array("GET / HTTP/1.1\r\nHost: husk\r\n\r\n".utf8))]),
            ("bad-truncated-header", [FuzzRecord(Array(message(.hello, id: 1).prefix(30)))]),
            ("bad-empty-record", [hello, FuzzRecord([], descriptors: 2)]),
            ("bad-magic", [header { $0[0] = 0x48 }]),
            ("bad-version", [hello, header { $0[4] = 2 }]),
            ("bad-flags", [hello, header { $0[6] = 0x10 }]),
            ("bad-reserved", [hello, header { $0[39] = 1 }]),
            ("bad-length", [hello, header { $0[28] = 4 }]),
            ("bad-fd-count", [hello, FuzzRecord(message(.ping, id: 7, fdCount: 1), descriptors: 2)]),
            ("bad-too-many-fds", [hello, FuzzRecord(message(.ping, id: 7, fdCount: 9), descriptors: 9)]),
            (
                "bad-ctrunc",
                [hello, FuzzRecord(message(.registerShm, id: 7, fdCount: 1), descriptors: 1, kind: .sealedMemfd, controlTruncated: true)]
            ),
            ("bad-oversized", [hello, echo(EchoHandler.Op.echo, id: 2, bytes(9000))]),
            ("bad-first-not-hello", [echo(EchoHandler.Op.ping, id: 1)]),
            ("bad-reply-flag", [hello, FuzzRecord(message(.ping, id: 7, flags: .reply))]),
            ("bad-request-id-0", [hello, FuzzRecord(message(.ping, id: 0))]),
            ("bad-status", [hello, header { $0[24] = 5 }]),
            ("bad-cancel-payload", [hello, FuzzRecord(message(EchoHandler.id, 4, id: 7, flags: .cancel, payload: [0, 0, 0, 0]))]),
            ("bad-duplicate-id", [hello, echo(EchoHandler.Op.sleep, id: 2, u32(1)), echo(EchoHandler.Op.sleep, id: 2, u32(1))]),
            (
                "bad-hello-version",
                [
                    FuzzRecord(
                        message(
                            .hello, id: 1,
                            payload: payload {
                                $0.u16(2)
                                $0.u16(3)
                                $0.u32(0)
                            }))
                ]
            ),
            ("bad-hello-trailing", [FuzzRecord(message(.hello, id: 1, payload: helloPayload + [0]))]),
            (
                "bad-hello-count",
                [
                    FuzzRecord(
                        message(
                            .hello, id: 1,
                            payload: payload {
                                $0.u16(1)
                                $0.u16(1)
                                $0.u32(0xFFFF_FFFF)
                            }))
                ]
            ),
            (
                "bad-fd-on-continuation",
                [
                    hello, echo(EchoHandler.Op.echo, id: 2, [4, 0], flags: .more),
                    FuzzRecord(message(EchoHandler.id, EchoHandler.Op.echo, id: 2, payload: [0, 0], fdCount: 1), descriptors: 1)
                ]
            ),
            (
                "bad-fragment-other-op",
                [hello, echo(EchoHandler.Op.echo, id: 2, [4, 0], flags: .more), echo(EchoHandler.Op.ping, id: 2, [0, 0])]
            ),
            ("bad-too-many-fragmented", [hello] + (2..<12).map { echo(EchoHandler.Op.echo, id: UInt64($0), [1], flags: .more) }),
            // Invalid but answered (the connection stays).
            ("err-hello-twice", [hello, FuzzRecord(message(.hello, id: 2, payload: helloPayload))]),
            (
                "err-unknown-interface-op",
                [
                    hello, FuzzRecord(message(77, 1, id: 2)), echo(99, id: 3),
                    FuzzRecord(message(RPCControl.interface, 42, id: 4, fdCount: 1), descriptors: 1, kind: .devNull)
                ]
            ),
            (
                "err-echo-payloads",
                [
                    hello, echo(EchoHandler.Op.ping, id: 2, [1]), echo(EchoHandler.Op.echo, id: 3, [9, 0, 0, 0, 1]),
                    echo(EchoHandler.Op.raise, id: 4, u32(0)), echo(EchoHandler.Op.raise, id: 5, u32(65)),
                    echo(EchoHandler.Op.open, id: 6, payload { $0.bytes([0xC3, 0x28]) }),
                    echo(EchoHandler.Op.checksum, id: 7, [1, 0, 0, 0, 1, 0, 0, 0] + [UInt8](repeating: 0, count: 16)),
                    control(.ping, id: 8, [1]), control(.unregisterShm, id: 9, [1, 0]), control(.stats, id: 10, [0])
                ]
            ),
            (
                "err-fragments-msgsize",
                [hello] + fragments(EchoHandler.id, EchoHandler.Op.echo, id: 2, payload: bytes(40_000), chunk: 8000)
                    + [control(.ping, id: 3)]
            )
        ]
        seeds.sort { $0.0 < $1.0 }
        return seeds.map { ($0.0, FuzzInput.encode($0.1)) }
    }
}
