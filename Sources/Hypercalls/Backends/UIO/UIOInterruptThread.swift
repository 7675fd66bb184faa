import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport
import Platform

/// Forwards INTx from /dev/uioN to an eventfd: a small thread waits until the
/// uio node reports a new interrupt (its 4-byte count), then adds 1 to the
/// vector's eventfd, where the host's interrupt thread waits like it does for
/// vfio. A second eventfd stops the thread.
final class UIOInterruptThread: @unchecked Sendable {
    // @unchecked: the descriptors are immutable after init; `thread` is
    // written once, before any other thread can see the object, and read by
    // stop(), which the owner calls once, under its lock.
    let uioFD: Int32  // borrowed from the device, which stops us before closing it
    let eventFD: Int32  // borrowed: the vector's eventfd, owned by the device
    private let stopFD: FD
    private var thread: HostThread?

    init(uioFD: Int32, eventFD: Int32, name: String) throws(HypError) {
        self.uioFD = uioFD
        self.eventFD = eventFD
        stopFD = FD(adopting: try makeEventFD())
        do {
            thread = try HostThread.spawn(name: "uio-intx") { [self] in run() }
        } catch {
            throw HypError.fromErrno(error.code, "cannot start the INTx thread for \(name): \(errnoString(error.code))")
        }
    }

    private func run() {
        var fds = [
            pollfd(fd: uioFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stopFD.raw, events: Int16(POLLIN), revents: 0)
        ]
        while true {
            let n = poll(&fds, 2, -1)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            if fds[0].revents & Int16(POLLIN) != 0 {
                var count: UInt32 = 0
                let got = read(uioFD, &count, 4)
                if got == 4 {
                    var one: UInt64 = 1
                    _ = write(eventFD, &one, 8)
                } else if got < 0 && errno != EINTR && errno != EAGAIN {
                    return  // the device went away
                }
            } else if fds[0].revents != 0 {
                return  // POLLERR/POLLHUP: the device went away
            }
        }
    }

    /// Wake the thread and wait for it to end.
    func stop() {
        var one: UInt64 = 1
        _ = write(stopFD.raw, &one, 8)
        thread?.join()
    }
}
