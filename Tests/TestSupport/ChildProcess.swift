import Foundation
import Glibc
import XCTest

/// The husk executable under test and the package it was built from: the
/// one place tests find them.
public enum Husk {
    /// $HUSK_BIN (CI sets it to the release build for the integration
    /// tests), else the husk next to the test bundle
    /// (.build/<config>/HuskPackageTests.xctest -> .build/<config>/husk).
    public static var binary: String {
        if let env = ProcessInfo.processInfo.environment["HUSK_BIN"] { return env }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("husk").path
    }

    /// The package root (Tests/TestSupport/ChildProcess.swift -> ../..).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Run `husk ARGS` to completion (see runTool).
    @discardableResult
    public static func run(_ args: [String], timeout: Double = 120, signalAfter: (Double, Int32)? = nil) throws -> ToolResult {
        try runTool(binary, args, timeout: timeout, signalAfter: signalAfter)
    }
}

/// What a tool run to completion printed, and how it ended.
public struct ToolResult: Sendable {
    /// The exit status, or 128 + the signal that ended it.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var output: String { stdout + stderr }
    public var ok: Bool { status == 0 }
    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Run `tool ARGS` to completion with its output in files (so a chatty tool
/// never blocks on a pipe); `signalAfter` sends a signal after that many
/// seconds; past `timeout` it is killed and this throws.
public func runTool(
    _ tool: String, _ args: [String], timeout: Double = 120,
    signalAfter: (Double, Int32)? = nil
) throws -> ToolResult {
    var t = Array("/tmp/husk-run-XXXXXX".utf8CString)
    guard mkdtemp(&t) != nil else { throw TestTimeout(description: "mkdtemp failed") }
    let dir = String(decoding: t.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let child = try ChildProcess(tool, args, dir: dir, tag: "run")
    let start = Date()
    var signalled = false
    while child.process.isRunning && Date().timeIntervalSince(start) < timeout {
        if let (after, sig) = signalAfter, !signalled, Date().timeIntervalSince(start) >= after {
            child.signal(sig)
            signalled = true
        }
        usleep(5_000)
    }
    guard let status = child.wait(timeout: 0) else {
        child.kill9()
        throw TestTimeout(description: "\(tool) \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s and was killed")
    }
    return ToolResult(status: status, stdout: child.stdout, stderr: child.stderr)
}

public struct TestTimeout: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// A scratch directory with a short path (sun_path holds 107 bytes),
/// removed after the test.
public func scratchDirectory(_ test: XCTestCase, prefix: String = "huskt") throws -> String {
    var t = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard mkdtemp(&t) != nil else { throw TestTimeout(description: "mkdtemp failed") }
    let dir = String(decoding: t.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    chmod(dir, 0o755)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Poll `cond` every 10 ms for up to `seconds`.
public func waitUntil(_ seconds: Double, _ cond: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if cond() { return true }
        usleep(10_000)
    }
    return cond()
}

/// A child process with stdout/stderr in files (SWIFT_BACKTRACE off, so a
/// crash cannot hold the test for minutes).
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: used from the test's thread only (and its teardown).
    public let process = Process()
    public let outPath: String, errPath: String

    public init(_ tool: String, _ args: [String], dir: String, tag: String) throws {
        outPath = "\(dir)/\(tag).out"
        errPath = "\(dir)/\(tag).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Wait for exit up to `timeout` s: the exit status (128+signal), or
    /// nil if still running.
    @discardableResult
    public func wait(timeout: Double) -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(5_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    public func signal(_ s: Int32) { if process.isRunning { kill(pid, s) } }

    /// Wait until stdout contains `text`; if the process exits or `timeout`
    /// passes first, kill it and throw with its stderr.
    public func waitForOutput(_ text: String, timeout: Double = 20) throws {
        let end = Date().addingTimeInterval(timeout)
        while !stdout.contains(text) {
            if !process.isRunning || Date() > end {
                let why = process.isRunning ? "timed out" : "exited"
                kill9()
                throw TestTimeout(description: "no '\(text)' on stdout (\(why)): \(stderr)")
            }
            usleep(10_000)
        }
    }

    /// `husk ARGS` as a server for `test`: killed at its teardown at the
    /// latest; returns once the server says "listening on".
    public static func huskServer(_ test: XCTestCase, _ args: [String], dir: String, tag: String) throws -> ChildProcess {
        let child = try ChildProcess(Husk.binary, args, dir: dir, tag: tag)
        test.addTeardownBlock { child.kill9() }
        try child.waitForOutput("listening on")
        return child
    }

    public func kill9() {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Wait (up to `seconds`) until every thread of `pid` is stopped ('T' in
/// /proc/PID/task/TID/stat): kill(SIGSTOP) returns before they all are, and
/// a thread still running may serve one more request.
public func waitUntilStopped(_ pid: pid_t, seconds: Double = 10) -> Bool {
    waitUntil(seconds) {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return !tasks.isEmpty
            && tasks.allSatisfy { tid in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { return false }
                return stat[stat.index(after: close)...].drop { $0 == " " }.hasPrefix("T")
            }
    }
}

/// scratchDirectory as a file URL.
public func scratchURL(_ test: XCTestCase) throws -> URL {
    URL(fileURLWithPath: try scratchDirectory(test, prefix: "husk-it"))
}
