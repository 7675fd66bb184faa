import ArgumentParser
import Glibc
import Platform
import RPCServer
import RPCTransport

/// Read and parse a policy file (syntax: docs/rpc-runtime.md), or fail
/// with a usage error naming the file.
func loadPolicyFile(_ path: String) throws -> AccessPolicy {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ValidationError("cannot read --policy \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += buf[0..<n]
        if bytes.count > 1 << 20 { throw ValidationError("--policy \(path): larger than 1 MiB") }
    }
    do { return try AccessPolicy.parse(String(decoding: bytes, as: UTF8.self)) } catch { throw ValidationError("\(path): \(error)") }
}

/// Wait until SIGINT or SIGTERM (SignalWatcher must have been started
/// before any other thread) and return the signal.
final class StopSignal: @unchecked Sendable {
    // @unchecked: `signal` is guarded by `monitor`.
    private let monitor = Monitor()
    private var signal: Int32 = 0

    init() {
        SignalWatcher.start { [self] sig in
            monitor.withLock {
                signal = sig
                monitor.broadcast()
            }
        }
    }

    /// The signal received so far, 0 if none (for loops that poll).
    var received: Int32 { monitor.withLock { signal } }

    func wait() -> Int32 {
        monitor.withLock {
            while signal == 0 { _ = monitor.wait() }
            return signal
        }
    }
}
