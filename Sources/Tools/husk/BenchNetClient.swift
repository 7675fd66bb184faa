import Glibc
import Platform

/// The client side of `husk bench net`: the kernel's own TCP sockets in the
/// bench's namespace, against a peer's servers (BenchNetPeer) at `host`.
struct BenchNetClient {
    let host: String
    let seconds: Double

    private func connectTo(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket: \(String(cString: strerror(errno)))", bench: "net") }
        var a = ipv4(host, port)
        let r = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            let e = errno
            close(fd)
            throw BenchFailure("connect \(host):\(port): \(String(cString: strerror(e)))", bench: "net")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// MB/s sent for `seconds`, counted once the peer has read all of it
    /// (it closes after the end of the stream).
    func streamTo(port: UInt16) throws -> Double {
        let fd = try connectTo(port)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0xa5, count: 256 << 10)
        let start = monotonicSeconds()
        var total = 0
        while monotonicSeconds() - start < seconds {
            let n = send(fd, &buf, buf.count, Int32(MSG_NOSIGNAL))
            guard n > 0 else { throw BenchFailure("send: \(String(cString: strerror(errno)))", bench: "net") }
            total += n
        }
        shutdown(fd, Int32(SHUT_WR))
        while recv(fd, &buf, buf.count, 0) > 0 {}
        return Double(total) / (monotonicSeconds() - start) / 1e6
    }

    /// MB/s received for `seconds`.
    func streamFrom(port: UInt16) throws -> Double {
        let fd = try connectTo(port)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256 << 10)
        let start = monotonicSeconds()
        var total = 0
        while monotonicSeconds() - start < seconds {
            let n = recv(fd, &buf, buf.count, 0)
            guard n > 0 else { throw BenchFailure("recv: \(n == 0 ? "end of stream" : String(cString: strerror(errno)))", bench: "net") }
            total += n
        }
        return Double(total) / (monotonicSeconds() - start) / 1e6
    }

    /// 1-byte round trips per second, and the median round trip in µs.
    func requestResponse(port: UInt16) throws -> (rate: Double, p50: Double) {
        let fd = try connectTo(port)
        defer { close(fd) }
        var b: UInt8 = 1
        var samples: [Double] = []
        let start = monotonicSeconds()
        while monotonicSeconds() - start < seconds {
            let t = monotonicNanos()
            guard send(fd, &b, 1, Int32(MSG_NOSIGNAL)) == 1, recv(fd, &b, 1, 0) == 1 else {
                throw BenchFailure("round trip: \(String(cString: strerror(errno)))", bench: "net")
            }
            samples.append(Double(monotonicNanos() - t) / 1e3)
        }
        let elapsed = monotonicSeconds() - start
        samples.sort()
        return (Double(samples.count) / elapsed, samples.isEmpty ? 0 : samples[samples.count / 2])
    }

    /// Connections per second: connect, wait for the peer's byte (it
    /// accepted), close first (TIME_WAIT on this side: BenchNetPeer's closer).
    func connections(port: UInt16) throws -> Double {
        let start = monotonicSeconds()
        var n = 0
        var b: UInt8 = 0
        while monotonicSeconds() - start < seconds {
            let fd = try connectTo(port)
            guard recv(fd, &b, 1, 0) == 1 else {
                close(fd)
                throw BenchFailure("connection \(n + 1) to \(host):\(port) closed before the peer's byte", bench: "net")
            }
            close(fd)
            n += 1
        }
        return Double(n) / (monotonicSeconds() - start)
    }
}
