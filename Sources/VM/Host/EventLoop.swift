import CLibvirt
import Glibc
import Platform
import Synchronization

/// libvirt's default event loop on a thread of its own: streams (the
/// console) deliver data through it, and remote connections keep alive.
/// Registered before the first connection, as libvirt requires.
enum LibvirtEventLoop {
    private static let started = Mutex(false)

    static func startOnce() {
        started.withLock { started in
            if started { return }
            started = true
            // Errors reach the caller as LibvirtError with libvirt's message;
            // libvirt's default handler would also print each to stderr.
            virSetErrorFunc(nil, { _, _ in })
            virEventRegisterDefaultImpl()
            HostThread.start(name: "libvirt-events", detached: true) {
                while true {
                    if virEventRunDefaultImpl() < 0 { usleep(10_000) }
                }
            }
        }
    }
}
