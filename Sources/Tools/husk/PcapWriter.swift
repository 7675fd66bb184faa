import Glibc

/// A pcap capture file (the classic libpcap format with nanosecond
/// timestamps, magic a1b23c4d, link type 1: Ethernet), as tcpdump -r and
/// Wireshark read it. Written with plain write(2) so that a capture stopped
/// by a signal still ends on a whole record.
final class PcapWriter {
    private let fd: Int32
    private let ownsFD: Bool
    private(set) var records = 0
    static let snapLength: UInt32 = 65_535

    struct WriteError: Error, CustomStringConvertible { let description: String }

    /// `path` "-" writes to standard output (e.g. into `tcpdump -r -`).
    init(path: String) throws {
        if path == "-" {
            fd = 1
            ownsFD = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw WriteError(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
            ownsFD = true
        }
        var header: [UInt8] = []
        header += le32(0xa1b2_3c4d)  // nanosecond-resolution magic
        header += le16(2) + le16(4)  // version 2.4
        header += le32(0) + le32(0)  // thiszone, sigfigs
        header += le32(Self.snapLength)
        header += le32(1)  // LINKTYPE_ETHERNET
        try write(header)
    }

    func append(_ frame: [UInt8], timeNanos: UInt64) throws {
        let kept = Array(frame.prefix(Int(Self.snapLength)))
        var record = le32(UInt32(timeNanos / 1_000_000_000)) + le32(UInt32(timeNanos % 1_000_000_000))
        record += le32(UInt32(kept.count)) + le32(UInt32(frame.count))
        try write(record + kept)
        records += 1
    }

    func close() {
        if ownsFD { Glibc.close(fd) }
    }

    private func write(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw WriteError(description: "cannot write the capture: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
}
