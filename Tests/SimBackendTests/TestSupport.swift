import Glibc
import Hypercalls
import HypercallABI
import SimBackend
import XCTest

/// Wait at most `ms` for an eventfd to fire; returns its counter (and resets
/// it) or nil on timeout. Tests never block without a deadline.
func waitEvent(_ fd: Int32, ms: Int32 = 5000) -> UInt64? {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, ms) == 1 else { return nil }
    var v: UInt64 = 0
    guard read(fd, &v, 8) == 8 else { return nil }
    return v
}

/// Has the eventfd fired (without waiting)?
func pendingEvent(_ fd: Int32) -> UInt64? { waitEvent(fd, ms: 0) }

/// Poll `cond` until true or ~`ms` elapsed.
func eventually(ms: Int = 5000, _ cond: () throws -> Bool) rethrows -> Bool {
    for _ in 0..<(ms / 2) {
        if try cond() { return true }
        usleep(2000)
    }
    return try cond()
}

/// A temporary image file, removed on deinit.
final class TempImage {
    let path: String
    init(bytes: Int, fill: UInt8 = 0) {
        var template = Array("/tmp/husk-sim-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0)
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let data = [UInt8](repeating: fill, count: bytes)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, bytes) }
        close(fd)
    }
    func contents(offset: Int, count: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return Array(out.prefix(max(0, n)))
    }
    deinit { unlink(path) }
}

func pattern(_ seed: Int, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31) ^ (seed &* 7) ^ ($0 >> 8)) }
}

extension HostDevice {
    func setBusMaster() throws {
        let cmd = try configRead(offset: 4, width: 2)
        try configWrite(offset: 4, width: 2, value: cmd | 0x6)
    }
}
