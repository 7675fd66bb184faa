import BlockRemote
import Foundation
import Glue
import HuskHost
import HuskTestSupport
import Hypercalls
import NBDFrontend
import Platform
import XCTest

/// A real blkfile disk on a temporary image, hosted in-process, and an NBD
/// server in front of it. Everything is removed in teardown, also when the
/// test fails (XCTest teardown blocks run regardless).
///
/// HUSK_NBD_STACKED=1 (scripts/test.sh's ring phase): the disk is instead a
/// RemoteDisk of a `husk blk serve --image` child process, so the same
/// suites run the NBD frontend over a stacked block server, through the
/// device's block queue (or its calls with HUSK_BLK_QUEUE=0).
final class NBDFixture: @unchecked Sendable {
    let dir: String
    let image: String
    let socket: String
    let host: ComponentHost
    let server: NBDServer
    /// The block server below, when stacked.
    let lower: ChildProcess?
    let remote: RemoteDisk?
    static let stacked = ProcessInfo.processInfo.environment["HUSK_NBD_STACKED"] == "1"
    let logLines = Locked<[String]>([])

    static let diskName = "disk0"

    init(
        _ test: XCTestCase, sizeBytes: Int = 8 << 20, blkfile: [String: String] = [:], serverReadOnly: Bool = false,
        fill: ((inout [UInt8]) -> Void)? = nil
    ) throws {
        dir = try temporaryDirectory(prefix: "husk-nbd")
        image = dir + "/disk.img"
        socket = dir + "/nbd.sock"
        var bytes = [UInt8](repeating: 0, count: sizeBytes)
        fill?(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: image))

        host = ComponentHost(backend: PosixBackend())
        if Self.stacked {
            var args = ["blk", "serve", "--image", image, "--socket", dir + "/blk.sock", "--name", Self.diskName]
            if blkfile["ro"] == "1" { args.append("--read-only") }
            if blkfile["direct"] == "1" { args.append("--direct") }
            if let bs = blkfile["block_size"] { args += ["--block-size", bs] }
            let child = try ChildProcess.huskServer(test, args, dir: dir, tag: "blk-lower")
            lower = child
            remote = try RemoteDisk(socket: dir + "/blk.sock", device: Self.diskName, name: Self.diskName, readOnly: blkfile["ro"] == "1")
        } else {
            lower = nil
            remote = nil
            var params = ["path": image, "name": Self.diskName]
            params.merge(blkfile) { $1 }
            host.load([ComponentRegistry.builtIn(named: "blkfile")!], parameters: ["blkfile": params])
        }
        let lines = logLines
        server = NBDServer(
            socketPath: socket, exports: { Glue.Disk(named: $0) }, exportNames: { Glue.diskNames() },
            defaultExport: Self.diskName, readOnly: serverReadOnly,
            log: { line in lines.withLock { $0.append(line) } })
        let dir = self.dir, host = self.host, server = self.server, remote = self.remote
        test.addTeardownBlock {
            server.shutdown()
            host.shutdown()
            remote?.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        XCTAssertEqual(host.refused.map(\.reason), [], "blkfile refused")
        try server.start()
    }

    var log: String { logLines.get().joined(separator: "\n") }

    /// qemu's URI for the export.
    func uri(_ export: String = diskName) -> String { "nbd+unix:///\(export)?socket=\(socket)" }

    func imageBytes() throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: image))) }

    func writeImage(_ bytes: [UInt8], at offset: Int) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: image))
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(offset))
        try h.write(contentsOf: Data(bytes))
    }

    /// Wait until the server has no connection left (hostile clients gone).
    func waitIdle(timeout: TimeInterval = 10) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while server.connectionCount > 0 {
            if Date() > end { return false }
            usleep(10_000)
        }
        return true
    }
}

/// qemu-img and qemu-io (HuskTestSupport's runners) with a time limit.
enum Tool {
    typealias Result = ToolResult

    static func available(_ name: String) -> Bool { installedTool(name) != nil }

    static func path(_ name: String) -> String { installedTool(name) ?? "/usr/bin/" + name }

    /// Start `tool` in the background (two clients at once); `finish` waits.
    static func start(_ tool: String, _ args: [String]) throws -> ChildProcess {
        try ChildProcess(path(tool), args, tag: tool)
    }

    static func finish(_ c: ChildProcess, timeout: Double = 60) throws -> Result {
        verbose(c.process.arguments ?? [], try c.finish(timeout: timeout))
    }

    static func run(_ tool: String, _ args: [String], timeout: Double = 60) throws -> Result {
        verbose([tool] + args, try runTool(path(tool), args, timeout: timeout))
    }

    /// NBD_TEST_VERBOSE=1 shows what the oracles said.
    private static func verbose(_ command: [String], _ r: Result) -> Result {
        if ProcessInfo.processInfo.environment["NBD_TEST_VERBOSE"] != nil {
            print("$ \(command.joined(separator: " "))\n\(r.output)[exit \(r.status)]")
        }
        return r
    }

    /// qemu-io on a raw-format NBD URI with the given commands.
    static func qemuIO(_ uri: String, readOnly: Bool = false, _ commands: [String]) throws -> Result {
        var args = ["-f", "raw"]
        if readOnly { args.append("-r") }
        for c in commands { args += ["-c", c] }
        args.append(uri)
        return try run("qemu-io", args)
    }
}

extension Tool.Result {
    /// qemu-io exits 0 even when a command failed: look at what it printed.
    var qemuIOClean: Bool {
        ok && !output.contains("Pattern verification failed") && !output.contains("failed:")
            && !output.lowercased().contains("error")
    }
}
