import Foundation
import XCTest

/// Components are portable only if they use nothing but the hypercall table
/// and the glue: every component compiles freestanding, and its undefined
/// symbols are checked against the glue's allow-list.
final class ComponentSymbolTests: XCTestCase {
    static let componentDirs = ["Sources/Components/edu", "Sources/Components/blkcopy", "Sources/Components/virtio_blk", "Sources/Conformance"]

    func testEveryComponentUsesOnlyGlueSymbols() throws {
        let allowed = try ComponentBuilder.allowedSymbols()
        XCTAssertTrue(allowed.contains("glue_kmem_alloc"), "the allow-list is read from the glue headers")
        let out = try scratchDirectory(self)
        var checked = 0
        for dir in Self.componentDirs {
            let root = Husk.packageRoot.appendingPathComponent(dir)
            let name = String(dir.split(separator: "/").last!)
            let sources = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".c") }.sorted()
            XCTAssertFalse(sources.isEmpty, "\(dir) has no C sources")
            var objects: [String] = []
            for s in sources {
                let o = out.appendingPathComponent("\(name)-\(s).o")
                let r = try ComponentBuilder.compile(root.appendingPathComponent(s), to: o, extraIncludes: [root.path + "/include", root.path])
                XCTAssertEqual(r.status, 0, "\(dir)/\(s) does not compile freestanding:\n\(r.output)")
                objects.append(o.path)
            }
            // One relocatable object per component: references between its own
            // files resolve, what stays undefined is what it needs from outside.
            let combined = out.appendingPathComponent("\(name).o")
            let link = try Husk.runTool("/usr/bin/ld", ["-r", "-o", combined.path] + objects)
            XCTAssertEqual(link.status, 0, link.output)
            guard link.status == 0 else { continue }
            let foreign = try ComponentBuilder.undefinedSymbols(combined).filter { !allowed.contains($0) }
            XCTAssertEqual(foreign, [], "\(dir) uses symbols outside the hypercall table and the glue")
            checked += 1
        }
        XCTAssertEqual(checked, Self.componentDirs.count)
    }

    func testTheCheckCatchesLibcUse() throws {
        let dir = try scratchDirectory(self)
        // Including a libc header fails under -nostdlibinc ...
        let inc = dir.appendingPathComponent("inc.c")
        try "#include <stdio.h>\nint f(void) { return 0; }\n".write(to: inc, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try ComponentBuilder.compile(inc, to: dir.appendingPathComponent("inc.o")).status, 0)
        // ... and declaring libc by hand is caught by the symbol check.
        let sneaky = dir.appendingPathComponent("sneaky.c")
        try "void *malloc(unsigned long n);\nvoid *f(void) { return malloc(4); }\n".write(to: sneaky, atomically: true, encoding: .utf8)
        let o = dir.appendingPathComponent("sneaky.o")
        XCTAssertEqual(try ComponentBuilder.compile(sneaky, to: o).status, 0)
        let allowed = try ComponentBuilder.allowedSymbols()
        XCTAssertEqual(try ComponentBuilder.undefinedSymbols(o).filter { !allowed.contains($0) }, ["malloc"])
    }
}
