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

    /// The package root (Tests/TestSupport/Husk.swift -> ../..).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Run `husk ARGS` to completion (see runTool), through `via` (such as
    /// `nobody`) if given.
    @discardableResult
    public static func run(
        _ args: [String], timeout: Double = 120, signalAfter: (Double, Int32)? = nil, via: [String] = []
    ) throws -> ToolResult {
        let command = via + [binary] + args
        return try runTool(command[0], Array(command.dropFirst()), timeout: timeout, signalAfter: signalAfter)
    }

    /// A command prefix (`via`) that runs what follows as nobody (uid and
    /// gid 65534, no groups); see requireRoot.
    public static let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    /// Skip the test unless it runs as root with setpriv (to run husk as
    /// nobody, or to let it drop privileges).
    public static func requireRoot() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: nobody[0]) else {
            throw XCTSkip("needs root (to drop privileges) and \(nobody[0])")
        }
    }
}

/// The C compiler for C that tests build outside SwiftPM: the toolchain's
/// clang first.
public var cCompiler: String {
    installedTool("clang", in: ["/opt/swift/usr/bin", "/usr/bin"]) ?? installedTool("cc") ?? installedTool("gcc") ?? "cc"
}

/// The path of an installed tool (clang, qemu-io, ...), or nil.
public func installedTool(_ name: String, in directories: [String] = ["/usr/bin", "/usr/local/bin", "/bin"]) -> String? {
    directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// A test's own failure (a tool that did not build, a process that timed
/// out), thrown with what it printed.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
