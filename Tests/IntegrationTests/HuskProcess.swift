import Foundation
import XCTest

/// Runs the husk executable built next to this test bundle, as a real
/// process: exit status, stdout and stderr, with a time limit so that no
/// test can hang the suite.
struct HuskResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }
}

enum Husk {
    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["HUSK_BIN"] { return env }
        // .build/<config>/HuskPackageTests.xctest -> .build/<config>/husk
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("husk").path
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @discardableResult
    static func run(_ args: [String], timeout: TimeInterval = 120, signalAfter: (TimeInterval, Int32)? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws -> HuskResult {
        try runTool(binary, args, timeout: timeout, signalAfter: signalAfter)
    }

    static func runTool(_ tool: String, _ args: [String], timeout: TimeInterval = 120,
                        signalAfter: (TimeInterval, Int32)? = nil) throws -> HuskResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        final class Sink: @unchecked Sendable { var data = Data() }
        let o = Sink(), e = Sink()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { e.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let pid = p.processIdentifier
        if let (after, sig) = signalAfter {
            DispatchQueue.global().asyncAfter(deadline: .now() + after) { kill(pid, sig) }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            kill(pid, SIGKILL)
            p.waitUntilExit()
            group.wait()
            struct Timeout: Error, CustomStringConvertible { let description: String }
            throw Timeout(description: "\(tool) \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s and was killed")
        }
        p.waitUntilExit()
        group.wait()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return HuskResult(status: status, stdout: String(decoding: o.data, as: UTF8.self), stderr: String(decoding: e.data, as: UTF8.self))
    }
}

/// A scratch directory removed at the end of the test.
func scratchDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("husk-it-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}
