import Foundation
import XCTest

/// `husk echo serve --socket DIR/NAME.sock [EXTRA]` for `test`
/// (ChildProcess.huskServer): the server the RPC, signal, sandbox and C
/// client tests talk to.
public final class EchoServerProcess: @unchecked Sendable {
    // @unchecked: used from the test's thread only (and its teardown).
    public let child: ChildProcess
    public let socket: String

    public init(_ test: XCTestCase, dir: String, extra: [String] = [], name: String = "echo") throws {
        socket = "\(dir)/\(name).sock"
        child = try ChildProcess.huskServer(test, ["echo", "serve", "--socket", socket] + extra, dir: dir, tag: "server-\(name)")
    }

    public var pid: Int32 { child.pid }

    /// Everything the server wrote (stdout and stderr).
    public var log: String { child.output }

    /// Open descriptors of the server process.
    public var fdCount: Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count }

    public func kill9() { child.kill9() }

    /// SIGSTOP, every thread stopped (ChildProcess.stop).
    @discardableResult
    public func stop() -> Bool { child.stop() }

    /// Wait until the log contains `text` (up to `timeout` s).
    public func waitForLog(_ text: String, timeout: Double = 3) -> Bool { waitUntil(timeout) { log.contains(text) } }
}
