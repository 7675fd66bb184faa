import Foundation
import HuskTestSupport
import XCTest

/// The library a port links (docs/porting.md): the glue as Embedded Swift and
/// every component, freestanding, built by scripts/build-port-library.sh.
final class PortLibraryTests: XCTestCase {
    /// One build for the whole class (about 25 s): the tests read its output.
    nonisolated(unsafe) static var built: (dir: URL, log: String)?

    override class func tearDown() {
        if let b = built { try? FileManager.default.removeItem(at: b.dir) }
        built = nil
        super.tearDown()
    }

    func portBuild() throws -> (dir: URL, log: String) {
        if let b = Self.built { return b }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("husk-port-\(getpid())")
        let script = Husk.packageRoot.appendingPathComponent("scripts/build-port-library.sh").path
        let r = try runTool(script, ["-o", dir.path])
        guard r.status == 0 else { throw TestFailure("build-port-library.sh failed (\(r.status)):\n\(r.output)") }
        Self.built = (dir, r.output)
        return (dir, r.output)
    }

    /// The list under "The port provides:" in docs/porting.md.
    static func documentedPortSymbols() throws -> Set<String> {
        let doc = try String(contentsOf: Husk.packageRoot.appendingPathComponent("docs/porting.md"), encoding: .utf8)
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false)
        guard let head = lines.firstIndex(of: "The port provides:") else { throw TestFailure("docs/porting.md has no list") }
        let list = lines[(head + 1)...].drop(while: { $0.isEmpty }).prefix(while: { $0.hasPrefix("    ") })
        return Set(list.compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// Everything the freestanding glue and components leave undefined is in
    /// the documented list, and nothing in the list is unneeded (a stale
    /// list would send porters after functions nobody calls).
    func testTheLibraryNeedsExactlyTheDocumentedFunctions() throws {
        let (dir, log) = try portBuild()
        XCTAssertTrue(log.contains("ok: "), log)
        let undefined = try ComponentBuilder.undefinedSymbols(dir.appendingPathComponent("husk-port.o"))
        XCTAssertEqual(Set(undefined), try Self.documentedPortSymbols())
        // No Swift runtime entry points and no hypercall-table symbol: the
        // table arrives through husk_glue_bind.
        XCTAssertEqual(undefined.filter { $0.hasPrefix("swift_") || $0.hasPrefix("$s") || $0.hasPrefix("husk_") }, [])
    }

    /// The port gets what the hosted husk has built in: the same components
    /// in the husk_components link set, and the C entry points of
    /// husk/glue_port.h.
    func testTheLibraryHoldsEveryBuiltInComponentAndTheEntryPoints() throws {
        let (dir, _) = try portBuild()
        let symbols = try runTool("/usr/bin/nm", [dir.appendingPathComponent("husk-port.o").path])
        XCTAssertEqual(symbols.status, 0, symbols.output)
        let names = symbols.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        let linked = Set(names.filter { $0.hasPrefix("husk_component_link_") }.map { String($0.dropFirst("husk_component_link_".count)) })
        let listing = try Husk.run(["components"])
        XCTAssertEqual(listing.status, 0, listing.output)
        let hosted = Set(
            listing.stdout.split(separator: "\n").filter { $0.hasSuffix("[built-in]") }.compactMap {
                $0.split(separator: " ").first.map(String.init)
            })
        XCTAssertFalse(hosted.isEmpty)
        XCTAssertEqual(linked, hosted)
        let defined = Set(
            symbols.stdout.split(separator: "\n").filter { $0.contains(" T ") }.compactMap {
                $0.split(separator: " ").last.map(String.init)
            })
        let wanted = try ComponentBuilder.glueFunctions().union(["husk_glue_bind", "husk_glue_component_finished"])
        XCTAssertEqual(wanted.subtracting(defined).sorted(), [], "glue functions the port library does not define")
        // The archive is what a port links; it holds the same objects.
        let archive = try runTool("/usr/bin/ar", ["t", dir.appendingPathComponent("libhusk-port.a").path])
        XCTAssertTrue(archive.stdout.contains("glue-swift.o"), archive.output)
    }

    /// The glue's Swift really is freestanding: an ELF for the none-elf
    /// target, without the hosted runtime's metadata sections or a libc call.
    func testTheGlueObjectIsEmbeddedSwift() throws {
        let (dir, _) = try portBuild()
        let glue = dir.appendingPathComponent("obj/glue-swift.o")
        let undefined = try ComponentBuilder.undefinedSymbols(glue)
        XCTAssertTrue(undefined.contains("posix_memalign"), "embedded Swift allocates through posix_memalign: \(undefined)")
        for hosted in ["swift_retain", "swift_allocObject", "pthread_mutex_lock", "syscall", "malloc"] {
            XCTAssertFalse(undefined.contains(hosted), "\(hosted) is a hosted dependency")
        }
        let sections = try runTool("/usr/bin/readelf", ["-SW", glue.path])
        XCTAssertFalse(sections.stdout.contains("swift5_typeref"), "reflection metadata in an Embedded Swift object")
    }

    func testMistakesAreClearErrors() throws {
        let script = Husk.packageRoot.appendingPathComponent("scripts/build-port-library.sh").path
        let unknown = try runTool(script, ["--components", "nosuch", "-o", try scratchURL(self).path])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.output.contains("no component 'nosuch'"), unknown.output)
        let bad = try runTool(script, ["--bogus"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.output.contains("unknown argument --bogus"), bad.output)
        let help = try runTool(script, ["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("docs/porting.md"), help.output)
    }
}
