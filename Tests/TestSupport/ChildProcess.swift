import Foundation
import Glibc
import XCTest

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

/// Run `tool ARGS` to completion (ChildProcess.finish): output in files, so
/// a chatty tool never blocks on a pipe.
public func runTool(
    _ tool: String, _ args: [String], timeout: Double = 120,
    signalAfter: (Double, Int32)? = nil
) throws -> ToolResult {
    try ChildProcess(tool, args).finish(timeout: timeout, signalAfter: signalAfter)
}

/// A child process with stdout/stderr in files (SWIFT_BACKTRACE off, so a
/// crash cannot hold the test for minutes): the one way tests start
/// processes, servers (huskServer) and tools (runTool) alike.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: used from the test's thread only (and its teardown).
    public let process = Process()
    public let outPath: String, errPath: String
    private let input: Pipe?
    private let ownDirectory: String?

    /// Start `tool ARGS` with its output in DIR/TAG.out and DIR/TAG.err
    /// (TAG-2, TAG-3, ... where those exist, so a restarted server keeps
    /// its predecessor's output); without `dir`, in a directory of its own
    /// that goes with the object. With `input`, stdin is a pipe that
    /// `send` writes to, else /dev/null.
    public init(_ tool: String, _ args: [String], dir: String? = nil, tag: String = "run", input: Bool = false) throws {
        ownDirectory = dir == nil ? try temporaryDirectory(prefix: "husk-run") : nil
        let dir = dir ?? ownDirectory!
        var name = tag, n = 1
        while FileManager.default.fileExists(atPath: "\(dir)/\(name).out") {
            n += 1
            name = "\(tag)-\(n)"
        }
        outPath = "\(dir)/\(name).out"
        errPath = "\(dir)/\(name).err"
        self.input = input ? Pipe() : nil
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = self.input ?? FileHandle.nullDevice
        try process.run()
    }

    deinit { if let ownDirectory { try? FileManager.default.removeItem(atPath: ownDirectory) } }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    public var output: String { stdout + stderr }

    /// Write `line` and a newline to its stdin (started with `input: true`).
    public func send(_ line: String) {
        precondition(input != nil, "send: \(process.executableURL?.path ?? "") was started without input")
        input?.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

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

    /// Wait for exit and return what it printed; `signalAfter` sends a
    /// signal after that many seconds; past `timeout` it is killed and this
    /// throws.
    public func finish(timeout: Double = 120, signalAfter: (Double, Int32)? = nil) throws -> ToolResult {
        let start = Date()
        if let (after, sig) = signalAfter, after < timeout, wait(timeout: after) == nil { signal(sig) }
        guard let status = wait(timeout: timeout - Date().timeIntervalSince(start)) else {
            kill9()
            let command = ([process.executableURL?.path ?? ""] + (process.arguments ?? [])).joined(separator: " ")
            throw TestFailure("\(command) did not finish within \(Int(timeout)) s and was killed:\n\(output)")
        }
        return ToolResult(status: status, stdout: stdout, stderr: stderr)
    }

    public func signal(_ s: Int32) { if process.isRunning { kill(pid, s) } }

    /// SIGSTOP, and wait (up to 10 s) until every thread is stopped ('T' in
    /// /proc/PID/task/TID/stat): kill() returns before they all are, and a
    /// thread still running may serve one more request.
    @discardableResult
    public func stop() -> Bool {
        guard process.isRunning else { return false }
        kill(pid, SIGSTOP)
        return waitUntil(10) {
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

    /// Wait until stdout contains `text`; if the process exits or `timeout`
    /// passes first, kill it and throw with what it printed.
    public func waitForOutput(_ text: String, timeout: Double = 20) throws {
        let end = Date().addingTimeInterval(timeout)
        while !stdout.contains(text) {
            if !process.isRunning || Date() > end {
                let why = process.isRunning ? "timed out" : "exited"
                kill9()
                throw TestFailure("no '\(text)' on stdout (\(why)):\n\(output)")
            }
            usleep(10_000)
        }
    }

    /// `husk ARGS` as a server for `test`, started through `via` (such as
    /// Husk.nobody) if given: killed at its teardown at the latest; returns
    /// once the server says "listening on".
    public static func huskServer(
        _ test: XCTestCase, _ args: [String], dir: String, tag: String, via: [String] = []
    ) throws -> ChildProcess {
        let command = via + [Husk.binary] + args
        let child = try ChildProcess(command[0], Array(command.dropFirst()), dir: dir, tag: tag)
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
