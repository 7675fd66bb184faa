import Foundation
import RPCSys

/// A hand-driven NBD client for what qemu will not send: malformed input
/// and explicit pipelining. Not a general client: just enough to talk to
/// the server under test (and to misbehave on purpose).
final class RawClient {
    let fd: Int32

    init(_ path: String, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, husk_rpc_unix_connect(fd, path) == 0 else {
            let e = errno
            if fd >= 0 { close(fd) }
            throw NSError(domain: "connect", code: Int(e))
        }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Send everything; false if the server has gone (never SIGPIPE).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Exactly n bytes, or nil (end of stream, error, timeout).
    func read(_ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var done = 0
        while done < n {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, n - done, 0) }
            if r <= 0 { return nil }
            done += r
        }
        return out
    }

    /// True if the server closes the connection (end of stream) before the
    /// timeout; whatever it sends first is skipped.
    func closedByServer() -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 4096, 0) }
            if r == 0 { return true }
            if r < 0 { return errno == ECONNRESET }
        }
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    // MARK: Protocol pieces

    static func be(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * (n - 1 - $0))) } }
    static func num(_ b: ArraySlice<UInt8>) -> UInt64 { b.reduce(0) { $0 << 8 | UInt64($1) } }

    static let ihaveopt: UInt64 = 0x4948_4156_454f_5054

    /// Server greeting (18 bytes) then our flags (fixed newstyle, no zeroes).
    func greet() -> Bool {
        guard let g = read(18), Self.num(g[0..<8]) == 0x4e42_444d_4147_4943, Self.num(g[8..<16]) == Self.ihaveopt else { return false }
        return send(Self.be(3, 4))
    }

    func option(_ opt: UInt32, _ data: [UInt8]) -> Bool {
        send(Self.be(Self.ihaveopt, 8) + Self.be(UInt64(opt), 4) + Self.be(UInt64(data.count), 4) + data)
    }

    /// One option reply: (type, data).
    func optionReply() -> (type: UInt32, data: [UInt8])? {
        guard let h = read(20), Self.num(h[0..<8]) == 0x0003_e889_0455_65a9 else { return nil }
        let len = Int(Self.num(h[16..<20]))
        guard len < 1 << 20, let d = read(len) else { return nil }
        return (UInt32(Self.num(h[12..<16])), d)
    }

    /// NBD_OPT_GO for `export`: returns (size, transmission flags) or the
    /// error reply's type.
    func go(_ export: String) -> Result<(size: UInt64, flags: UInt16), UInt32Error> {
        let name = Array(export.utf8)
        guard greet(), option(7, Self.be(UInt64(name.count), 4) + name + Self.be(1, 2) + Self.be(3, 2)) else {
            return .failure(UInt32Error(0))
        }
        var size: UInt64 = 0, flags: UInt16 = 0
        while let (type, data) = optionReply() {
            if type == 1 { return .success((size, flags)) }
            if type & 0x8000_0000 != 0 { return .failure(UInt32Error(type)) }
            if type == 3, data.count >= 12, Self.num(data[0..<2]) == 0 {
                size = Self.num(data[2..<10])
                flags = UInt16(Self.num(data[10..<12]))
            }
        }
        return .failure(UInt32Error(0))
    }

    struct UInt32Error: Error {
        let value: UInt32
        init(_ v: UInt32) { value = v }
    }

    func request(type: UInt16, flags: UInt16 = 0, cookie: UInt64, offset: UInt64, length: UInt32, magic: UInt32 = 0x2560_9513) -> [UInt8] {
        Self.be(UInt64(magic), 4) + Self.be(UInt64(flags), 2) + Self.be(UInt64(type), 2) + Self.be(cookie, 8)
            + Self.be(offset, 8) + Self.be(UInt64(length), 4)
    }

    /// A simple reply's (error, cookie); the caller reads any data.
    func simpleReply() -> (error: UInt32, cookie: UInt64)? {
        guard let h = read(16), Self.num(h[0..<4]) == 0x6744_6698 else { return nil }
        return (UInt32(Self.num(h[4..<8])), Self.num(h[8..<16]))
    }
}
