import Glibc
import RPCSys

/// Blocking whole-message I/O on a connected stream socket. Every call
/// either transfers exactly what was asked or reports failure (end of
/// stream, error, receive timeout), after which the connection is dropped.
struct StreamSocket: Sendable {
    let fd: Int32

    /// Read exactly `count` bytes into `buffer`.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = recv(fd, buffer + done, count - done, 0)
            if n > 0 {
                done += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return false  // 0: peer closed; <0: error or SO_RCVTIMEO expired
        }
        return true
    }

    /// Read exactly `count` bytes (callers bound count first).
    func read(_ count: Int) -> [UInt8]? {
        if count == 0 { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBytes { read(into: $0.baseAddress!, count: count) }
        return ok ? bytes : nil
    }

    /// Read and drop `count` bytes through a small buffer (no allocation
    /// proportional to count).
    func discard(_ count: Int) -> Bool {
        var left = count
        var scratch = [UInt8](repeating: 0, count: min(count, 64 << 10))
        return scratch.withUnsafeMutableBytes { buf in
            while left > 0 {
                let n = min(left, buf.count)
                guard read(into: buf.baseAddress!, count: n) else { return false }
                left -= n
            }
            return true
        }
    }

    /// Send all `count` bytes. MSG_NOSIGNAL: a vanished client is an error
    /// here, not a SIGPIPE for the whole host.
    func write(_ buffer: UnsafeRawPointer, count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = send(fd, buffer + done, count - done, Int32(MSG_NOSIGNAL))
            if n > 0 {
                done += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }

    func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { write($0.baseAddress!, count: $0.count) }
    }

    /// A receive timeout bounds how long a silent client can hold a thread
    /// during negotiation; 0 removes it (transmission may idle forever).
    func setReceiveTimeout(seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A send timeout keeps a client that stops reading from holding a
    /// connection (and shutdown) forever.
    func setSendTimeout(seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Wake a thread blocked in recv on this socket (used at shutdown and
    /// when the other side of the connection gives up).
    func shutdownBoth() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    func shutdownRead() { _ = Glibc.shutdown(fd, Int32(SHUT_RD)) }
}

/// The listening AF_UNIX stream socket (never TCP: access is governed by
/// the file system permissions of the socket path).
enum UnixListener {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Bind and listen on `path`. A path where a server answers is refused;
    /// a stale socket file (nobody listening) is removed first.
    static func open(path: String) throws(Failure) -> Int32 {
        if isSocketFile(path) {
            if someoneListens(path) { throw Failure(description: "\(path): a server is already listening there") }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        guard husk_rpc_bind(fd, path) == 0 else {
            let e = errno
            close(fd)
            throw Failure(description: "bind \(path): \(String(cString: strerror(e)))")
        }
        guard listen(fd, 64) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw Failure(description: "listen \(path): \(String(cString: strerror(e)))")
        }
        return fd
    }

    static func isSocketFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// A connect that succeeds means a live server owns the path.
    static func someoneListens(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return husk_rpc_unix_connect(fd, path) == 0
    }
}
