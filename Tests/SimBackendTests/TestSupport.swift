import Glibc
import HuskTestSupport
import HypercallABI
import Hypercalls
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

extension HostDevice {
    func setBusMaster() throws {
        let cmd = try configRead(offset: 4, width: 2)
        try configWrite(offset: 4, width: 2, value: cmd | 0x6)
    }
}
