import Glibc
import HypercallABI
import XCTest

@testable import Hypercalls

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

/// Run `body`; it must throw the HypError `code` (returned for more checks).
@discardableResult
func expectError(
    _ code: Int32, _ body: () throws -> Void,
    file: StaticString = #filePath, line: UInt = #line
) -> HypError? {
    do {
        try body()
        XCTFail("expected \(HypError.name(of: code))", file: file, line: line)
        return nil
    } catch let error as HypError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a HypError, got \(error)", file: file, line: line)
        return nil
    }
}
