import Glibc
import HypercallABI
@testable import Hypercalls
import XCTest

/// A posix-backed host for one test, with a component context to call as.
final class TableFixture {
    let host: HypercallHost
    let ctx: ComponentContext
    var hyp: husk_hyp { host.table.pointee }
    var c: OpaquePointer { ctx.pointer }

    init(backend: any HostBackend = PosixBackend(), parameters: [String: String] = [:]) {
        host = HypercallHost(backend: backend)
        host.activate()
        ctx = ComponentContext(name: "testcomp", parameters: parameters)
    }

    func tearDown() {
        ctx.retire()
        host.shutdown()
    }
}

/// A scratch file removed by the test's tear-down.
func scratchFile(size: Int, _ test: XCTestCase) -> String {
    var template = Array("/tmp/husk-test-XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    precondition(fd >= 0)
    ftruncate(fd, off_t(size))
    close(fd)
    let path = String(cString: template)
    test.addTeardownBlock { unlink(path) }
    return path
}
