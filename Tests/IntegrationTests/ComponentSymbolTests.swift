import Foundation
import HuskTestSupport
import XCTest

/// Components are portable only if they use nothing but the hypercall table
/// and the glue: every component compiles freestanding, and its undefined
/// symbols are checked against the glue's allow-list. Component libraries
/// (husk/virtio.h) are held to the same rules, and a component may also use
/// what the libraries define.
final class ComponentSymbolTests: XCTestCase {
    /// Every folder under Sources/Components is a component or a component
    /// library (Package.swift: componentNames, componentLibraryNames). A
    /// library is the folder whose public header is include/husk/<folder>.h,
    /// named like the glue's headers; a component's is
    /// include/husk_component_<folder>.h.
    static var allDirs: [String] {
        let root = Husk.packageRoot.appendingPathComponent("Sources/Components").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().map { "Sources/Components/\($0)" }
    }
    static func isLibrary(_ dir: String) -> Bool {
        let name = String(dir.split(separator: "/").last!)
        return FileManager.default.fileExists(
            atPath: Husk.packageRoot.appendingPathComponent("\(dir)/include/husk/\(name).h").path)
    }
    static var componentDirs: [String] { allDirs.filter { !isLibrary($0) } }
    static var libraryDirs: [String] { allDirs.filter { isLibrary($0) } }

    func testEveryComponentUsesOnlyGlueSymbols() throws {
        let glue = try ComponentBuilder.allowedSymbols()
        XCTAssertTrue(glue.contains("glue_kmem_alloc"), "the allow-list is read from the glue headers")
        // Libraries: the glue and nothing else, like components.
        let libraries = try linkFolders(Self.libraryDirs)
        var libraryDefined: Set<String> = []
        for l in libraries {
            let foreign = try ComponentBuilder.undefinedSymbols(l.object).filter { !glue.contains($0) }
            XCTAssertEqual(foreign, [], "\(l.dir) uses symbols outside the hypercall table and the glue")
            libraryDefined.formUnion(try Self.definedGlobals(l.object).map(\.0))
        }
        XCTAssertEqual(libraries.count, Self.libraryDirs.count)
        // Components: the glue, plus what the libraries offer.
        let linked = try linkFolders(Self.componentDirs)
        for c in linked {
            let foreign = try ComponentBuilder.undefinedSymbols(c.object).filter {
                !glue.contains($0) && !libraryDefined.contains($0)
            }
            XCTAssertEqual(foreign, [], "\(c.dir) uses symbols outside the hypercall table, the glue and the component libraries")
        }
        XCTAssertEqual(linked.count, Self.componentDirs.count)
    }

    /// The convention of docs/components.md, checked on what the linker sees:
    /// one `<prefix>_private.h`, and every global the component defines is
    /// either its descriptor or `<prefix>_*` with hidden visibility (so a
    /// dlopen()ed copy never binds to a same-named symbol of husk).
    ///
    /// A component around vendored code (ThirdPartyC/<name>/PROVENANCE names
    /// it) keeps upstream's names: the upstream objects need only hidden
    /// visibility (the build gives them -fvisibility=hidden, as upstream
    /// declarations cannot say HUSK_PRIVATE), and the port layer may define,
    /// besides its prefix, the functions upstream leaves to
    /// its port: those its headers declare (lwIP's sys_* interface in lwip/sys.h).
    func testEveryComponentDefinesOnlyPrefixedHiddenSymbols() throws {
        let linked = try linkFolders(Self.componentDirs)
        for c in linked {
            let files = try FileManager.default.contentsOfDirectory(
                atPath: Husk.packageRoot.appendingPathComponent(c.dir).path)
            let headers = files.filter { $0.hasSuffix("_private.h") }
            guard headers.count == 1, let prefix = headers.first?.dropLast("_private.h".count) else {
                XCTFail("\(c.dir) needs exactly one <prefix>_private.h, has \(headers)")
                continue
            }
            let descriptor = "husk_component_\(c.name)"
            var sawDescriptor = false
            let own = Set(try Self.definedGlobals(c.ownObject).map { $0.0 })
            // Upstream's headers, and those its build generates (the port's generated/).
            var upstreamHeaders = try c.upstreamInclude.map { try Self.headerText(under: $0) } ?? ""
            let generated = Husk.packageRoot.appendingPathComponent(c.dir + "/generated")
            if c.upstreamInclude != nil, FileManager.default.fileExists(atPath: generated.path) {
                upstreamHeaders += try Self.headerText(under: generated)
            }
            for (symbol, visibility) in try Self.definedGlobals(c.object) {
                if symbol == descriptor {
                    sawDescriptor = true
                    continue
                }
                XCTAssertEqual(visibility, "HIDDEN", "\(c.dir): \(symbol) is not HUSK_PRIVATE (or static)")
                guard own.contains(symbol), !symbol.hasPrefix("\(prefix)_") else { continue }  // upstream keeps its names
                // A function (`name(`) or an object (`name;`, `name[`) upstream declares.
                XCTAssertTrue(
                    upstreamHeaders.range(of: "\\b\(symbol)\\s*[(;\\[]", options: .regularExpression) != nil,
                    "\(c.dir): \(symbol) lacks the prefix \(prefix)_ (and no upstream header declares it for the port)")
            }
            XCTAssertTrue(sawDescriptor, "\(c.dir) defines no \(descriptor)")
        }
        XCTAssertEqual(linked.count, Self.componentDirs.count)
    }

    /// A library's prefix is its folder's name (its header is
    /// husk/<name>.h): every global it defines is `<name>_*` and hidden, so
    /// each component (or shared object) that links it has its own copy and
    /// none binds to another's; it defines no descriptor.
    func testEveryLibraryDefinesOnlyPrefixedHiddenSymbols() throws {
        XCTAssertFalse(Self.libraryDirs.isEmpty, "the virtio library is found under Sources/Components")
        for l in try linkFolders(Self.libraryDirs) {
            let globals = try Self.definedGlobals(l.object)
            XCTAssertFalse(globals.isEmpty, "\(l.dir) defines nothing")
            for (symbol, visibility) in globals {
                XCTAssertTrue(symbol.hasPrefix("\(l.name)_"), "\(l.dir): \(symbol) lacks the prefix \(l.name)_")
                XCTAssertEqual(visibility, "HIDDEN", "\(l.dir): \(symbol) is not HUSK_PRIVATE (or static)")
            }
        }
    }

    /// Each folder compiled freestanding and linked into one relocatable
    /// object: references between its own files resolve, so what stays
    /// undefined is what it needs from outside and what is defined is what it
    /// offers. Every library's include/ is on the path, as the glue's is. A
    /// folder that does not build is reported and left out.
    ///
    /// A component around vendored code is compiled as Package.swift builds
    /// it: the upstream .c files too, with upstream's headers, the C
    /// subset's standard headers and -fvisibility=hidden. Its own files
    /// (ownObject) are also linked apart.
    func linkFolders(_ dirs: [String]) throws -> [LinkedComponent] {
        let out = try scratchURL(self)
        XCTAssertGreaterThanOrEqual(Self.componentDirs.count, 5, "components found under Sources/Components")
        let vendored = try Self.vendoredSources()
        let libraryIncludes = Self.libraryDirs.map { Husk.packageRoot.appendingPathComponent($0).path + "/include" }
        var linked: [LinkedComponent] = []
        for dir in dirs {
            let root = Husk.packageRoot.appendingPathComponent(dir)
            let name = String(dir.split(separator: "/").last!)
            let sources = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".c") }.sorted()
            XCTAssertFalse(sources.isEmpty, "\(dir) has no C sources")
            let upstream = vendored[name]
            var includes = [root.path + "/include", root.path] + libraryIncludes
            var flags: [String] = []
            if let upstream {
                includes += [Husk.packageRoot.path + "/Sources/Glue/API/csubset", upstream.include.path]
                // What upstream's build generates, made by our script (ext2fs: scripts/e2fsprogs-gen.sh).
                if FileManager.default.fileExists(atPath: root.path + "/generated") { includes.append(root.path + "/generated") }
                flags = ["-fvisibility=hidden"]
            }
            func build(_ files: [URL], tag: String) throws -> URL? {
                var objects: [URL] = []
                for (i, f) in files.enumerated() {
                    let o = out.appendingPathComponent("\(name)-\(tag)\(i)-\(f.lastPathComponent).o")
                    let r = try ComponentBuilder.compile(f, to: o, extraIncludes: includes, defines: flags)
                    XCTAssertEqual(r.status, 0, "\(f.path) does not compile freestanding:\n\(r.output)")
                    objects.append(o)
                }
                return try link(objects, to: out.appendingPathComponent("\(name)-\(tag).o"))
            }
            guard let own = try build(sources.map { root.appendingPathComponent($0) }, tag: "own") else { continue }
            var object = own
            if let upstream {
                guard let u = try build(upstream.sources, tag: "upstream"),
                    let all = try link([own, u], to: out.appendingPathComponent("\(name)-all.o"))
                else { continue }
                object = all
            }
            linked.append(
                LinkedComponent(
                    dir: dir, name: name, object: object, ownObject: own, upstreamInclude: upstream?.include))
        }
        return linked
    }

    struct LinkedComponent {
        var dir: String, name: String
        var object: URL  // everything the component is made of
        var ownObject: URL  // the files in its folder
        var upstreamInclude: URL?  // their headers
    }

    /// Every header under a folder, as one text.
    static func headerText(under folder: URL) throws -> String {
        var text = ""
        let walker = FileManager.default.enumerator(atPath: folder.path)
        while let path = walker?.nextObject() as? String {
            if path.hasSuffix(".h") { text += try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8) }
        }
        return text
    }

    /// Link objects into one relocatable object (nil, and a failure, if ld fails).
    private func link(_ objects: [URL], to combined: URL) throws -> URL? {
        let r = try runTool("/usr/bin/ld", ["-r", "-o", combined.path] + objects.map(\.path))
        XCTAssertEqual(r.status, 0, r.output)
        return r.status == 0 ? combined : nil
    }

    /// The vendored sources of each component, from the Component, Compiled,
    /// Include and Generator lines of ThirdPartyC/*/PROVENANCE (the same
    /// folders that Package.swift's vendoredComponents gives SwiftPM; a
    /// Generator is a build-time program, not part of the component).
    static func vendoredSources() throws -> [String: (sources: [URL], include: URL)] {
        var out: [String: (sources: [URL], include: URL)] = [:]
        for folder in try VendoredTests.vendoredFolders() {
            let text = try String(contentsOf: folder.appendingPathComponent("PROVENANCE"), encoding: .utf8)
            func field(_ key: String) -> String? {
                text.split(separator: "\n").first { $0.hasPrefix(key + ":") }?
                    .dropFirst(key.count + 1).split(separator: " ").first.map(String.init)
            }
            guard let component = field("Component"), let compiled = field("Compiled"), let include = field("Include") else {
                continue
            }
            let base = folder.appendingPathComponent(compiled)
            let generator = field("Generator").map { folder.appendingPathComponent($0).path }
            var sources: [URL] = []
            let walker = FileManager.default.enumerator(atPath: base.path)
            while let path = walker?.nextObject() as? String {
                let url = base.appendingPathComponent(path)
                if path.hasSuffix(".c") && url.path != generator { sources.append(url) }
            }
            out[component] = (sources.sorted { $0.path < $1.path }, folder.appendingPathComponent(include))
        }
        return out
    }

    /// Global symbols an object defines, with their ELF visibility (readelf:
    /// nm does not show visibility).
    static func definedGlobals(_ object: URL) throws -> [(String, String)] {
        let r = try runTool("/usr/bin/readelf", ["-sW", object.path])
        XCTAssertEqual(r.status, 0, r.output)
        // Num: Value Size Type Bind Vis Ndx Name
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 8, f[4] == "GLOBAL" || f[4] == "WEAK", f[6] != "UND" else { return nil }
            return (String(f[7]), String(f[5]))
        }
    }

    /// A component loaded with dlopen resolves its glue symbols against the
    /// husk executable, so every out-of-line glue function must be in the
    /// binary's dynamic symbol table. Run against the release husk in CI
    /// (HUSK_BIN), where an internal Swift function would be hidden.
    func testTheHuskBinaryExportsEveryGlueFunction() throws {
        let declared = try ComponentBuilder.glueFunctions()
        XCTAssertGreaterThan(declared.count, 80)
        let r = try runTool("/usr/bin/nm", ["-D", "--defined-only", Husk.binary])
        XCTAssertEqual(r.status, 0, r.output)
        let exported = Set(
            r.stdout.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ")
                return f.count == 3 && f[1] == "T" ? String(f[2]) : nil
            })
        let missing = declared.subtracting(exported).sorted()
        XCTAssertEqual(
            missing, [],
            "\(Husk.binary) does not export these glue functions; a component using them "
                + "fails to load with 'undefined symbol' (are their @_cdecl functions public?)")
    }

    /// docs/glue.md lists the out-of-line glue symbols ("The N symbols:");
    /// the list and its count must match the headers' allow-list rule
    /// (`glue_[a-z0-9_]+(` in husk/glue/*.h).
    func testDocsListExactlyTheGlueSymbols() throws {
        let declared = try ComponentBuilder.glueFunctions()
        let doc = try String(contentsOf: Husk.packageRoot.appendingPathComponent("docs/glue.md"), encoding: .utf8)
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let head = lines.firstIndex(where: { $0.hasPrefix("The ") && $0.hasSuffix(" symbols:") }) else {
            return XCTFail("docs/glue.md has no \"The N symbols:\" list")
        }
        let listed = lines[(head + 1)...].drop(while: { $0.isEmpty }).prefix(while: { $0.hasPrefix("    glue_") })
            .map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(Set(listed).subtracting(declared).sorted(), [], "listed in docs/glue.md, not declared")
        XCTAssertEqual(declared.subtracting(listed).sorted(), [], "declared, missing from docs/glue.md")
        XCTAssertEqual(listed.count, Set(listed).count, "duplicates in docs/glue.md")
        XCTAssertEqual(lines[head], "The \(declared.count) symbols:")
    }

    func testTheCheckCatchesLibcUse() throws {
        let dir = try scratchURL(self)
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
