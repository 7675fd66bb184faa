import Foundation
import HuskTestSupport
import XCTest

/// The component model through the real husk binary: shared objects loaded
/// with dlopen, ABI version checks, dependency order, init/fini order.
final class ComponentModelTests: XCTestCase {
    /// A component that logs its life cycle.
    static func source(
        name: String, major: String = "HUSK_ABI_MAJOR", minor: String = "HUSK_ABI_MINOR",
        depends: [String] = [], withRun: Bool = true
    ) -> String {
        let deps = depends.isEmpty ? "0" : "deps_\(name)"
        let depsDecl =
            depends.isEmpty
            ? "" : "static const char *const deps_\(name)[] = { \(depends.map { "\"\($0)\"" }.joined(separator: ", ")), 0 };"
        return """
            #include <husk/hypercall.h>
            static const struct husk_hyp *H;
            static husk_ctx *C;
            \(depsDecl)
            static int32_t c_init(husk_ctx *ctx, const struct husk_hyp *hyp) { H = hyp; C = ctx; hyp->log(ctx, HUSK_LOG_INFO, "init \(name)"); return 0; }
            __attribute__((unused)) static int32_t c_run(husk_ctx *ctx) { H->log(ctx, HUSK_LOG_INFO, "run \(name)"); return 0; }
            static void c_fini(husk_ctx *ctx) { H->log(ctx, HUSK_LOG_INFO, "fini \(name)"); }
            HUSK_COMPONENT(\(name.replacingOccurrences(of: "-", with: "_"))) = {
                .abi_major = \(major), .abi_minor = \(minor), .name = "\(name)", .description = "test component",
                .kind = HUSK_KIND_OTHER, .depends = \(deps), .init = c_init, .run = \(withRun ? "c_run" : "0"), .fini = c_fini,
            };
            """
    }

    func testNewerABIIsRefusedAndTheHostKeepsRunning() throws {
        let dir = try scratchURL(self)
        let newer = try ComponentBuilder.sharedObject(
            named: "newer", source: Self.source(name: "newer", minor: "HUSK_ABI_MINOR + 1"), in: dir)
        let other = try ComponentBuilder.sharedObject(
            named: "othermajor", source: Self.source(name: "othermajor", major: "HUSK_ABI_MAJOR + 1", minor: "0"), in: dir)
        let good = try ComponentBuilder.sharedObject(named: "good", source: Self.source(name: "good"), in: dir)
        let r = try Husk.run(["run", "--component-file", newer.path, "--component-file", other.path, "--component-file", good.path])
        XCTAssertEqual(r.status, 3, r.output)
        XCTAssertTrue(r.stderr.contains("component 'newer' needs hypercall ABI 1.2, but this host provides 1.1"), r.stderr)
        XCTAssertTrue(
            r.stderr.contains("component 'othermajor' needs hypercall ABI 2.0, but this host provides 1.1 (major versions differ)"),
            r.stderr)
        XCTAssertFalse(r.stderr.contains("init newer"), "a refused component's init must not run")
        for line in ["init good", "run good", "fini good"] {
            XCTAssertTrue(r.stderr.contains(line), "the host keeps running the others: missing '\(line)'\n\(r.stderr)")
        }
    }

    func testDependenciesInitialiseFirstAndFinaliseLast() throws {
        let dir = try scratchURL(self)
        let a = try ComponentBuilder.sharedObject(named: "a", source: Self.source(name: "a", depends: ["b"], withRun: false), in: dir)
        let b = try ComponentBuilder.sharedObject(named: "b", source: Self.source(name: "b", depends: ["c"], withRun: false), in: dir)
        let c = try ComponentBuilder.sharedObject(named: "c", source: Self.source(name: "c", withRun: false), in: dir)
        let orphan = try ComponentBuilder.sharedObject(
            named: "orphan", source: Self.source(name: "orphan", depends: ["nothere"], withRun: false), in: dir)
        let r = try Husk.run([
            "run", "--once", "--component-file", a.path, "--component-file", orphan.path,
            "--component-file", b.path, "--component-file", c.path
        ])
        XCTAssertEqual(r.status, 3, r.output)
        let events = r.stderr.split(separator: "\n").compactMap { line -> String? in
            for e in ["init a", "init b", "init c", "fini a", "fini b", "fini c", "init orphan"] where line.hasSuffix(e) { return e }
            return nil
        }
        XCTAssertEqual(events, ["init c", "init b", "init a", "fini a", "fini b", "fini c"])
        XCTAssertTrue(r.stderr.contains("component 'orphan' depends on 'nothere', which is not loaded"), r.stderr)
    }

    func testDependencyCycleIsRefused() throws {
        let dir = try scratchURL(self)
        let x = try ComponentBuilder.sharedObject(named: "x", source: Self.source(name: "x", depends: ["y"]), in: dir)
        let y = try ComponentBuilder.sharedObject(named: "y", source: Self.source(name: "y", depends: ["x"]), in: dir)
        let r = try Husk.run(["run", "--once", "--component-file", x.path, "--component-file", y.path])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("dependency cycle"), r.stderr)
        XCTAssertFalse(r.stderr.contains("init x") || r.stderr.contains("init y"))
    }

    /// A shared component calls the glue: its glue symbols resolve against
    /// the husk executable (linked with --export-dynamic).
    func testSharedComponentUsesTheGlue() throws {
        let dir = try scratchURL(self)
        let so = try ComponentBuilder.sharedObject(
            named: "gluey",
            source: """
                #include <husk/glue.h>
                static int32_t g_init(husk_ctx *ctx, const struct husk_hyp *hyp) { return 0; }
                static int32_t g_run(husk_ctx *ctx) {
                    uint64_t *p = kmem_alloc(64, KM_SLEEP);
                    p[7] = 42;
                    glue_logf(HUSK_LOG_INFO, "glue says %llu", (unsigned long long)p[7]);
                    kmem_free(p, 64);
                    return 0;
                }
                HUSK_COMPONENT(gluey) = { .abi_major = HUSK_ABI_MAJOR, .abi_minor = 0, .name = "gluey",
                    .description = "uses the glue", .kind = HUSK_KIND_OTHER, .init = g_init, .run = g_run };
                """, in: dir)
        let r = try Husk.run(["run", "--component-file", so.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("glue says 42"), r.stderr)
        let undefined = try ComponentBuilder.undefinedSymbols(so)
        XCTAssertTrue(undefined.contains("glue_logf") && undefined.contains("glue_kmem_alloc"), "\(undefined)")
    }

    func testNotAComponentIsAClearError() throws {
        let dir = try scratchURL(self)
        let c = dir.appendingPathComponent("plain.c")
        try "int plain(void) { return 1; }\n".write(to: c, atomically: true, encoding: .utf8)
        let so = dir.appendingPathComponent("plain.so")
        XCTAssertEqual(try runTool(cCompiler, ["-shared", "-fPIC", "-o", so.path, c.path]).status, 0)
        let r = try Husk.run(["run", "--component-file", so.path])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("is not a Husk component"), r.stderr)
        let missing = try Husk.run(["run", "--component-file", dir.appendingPathComponent("missing.so").path])
        XCTAssertEqual(missing.status, 3)
        XCTAssertTrue(missing.stderr.contains("cannot load component"), missing.stderr)
    }

    /// The README's promise for third parties: the example builds with the
    /// documented command (scripts/build-component.sh) and runs in the husk
    /// under test (the release build in CI).
    func testTheExampleComponentBuildsAndRuns() throws {
        let dir = try scratchURL(self)
        let so = dir.appendingPathComponent("hello.so")
        let script = Husk.packageRoot.appendingPathComponent("scripts/build-component.sh").path
        let example = Husk.packageRoot.appendingPathComponent("examples/component/hello.c").path
        let b = try runTool(script, [example, "-o", so.path])
        XCTAssertEqual(b.status, 0, b.output)
        let r = try Husk.run(["run", "--component-file", so.path, "--param", "hello.ticks=3", "--param", "hello.greeting=hi there"])
        XCTAssertEqual(r.status, 0, r.output)
        for line in ["hi there; waiting for 3 ticks", "tick 1", "tick 3", "3 ticks in", "hello finished: OK"] {
            XCTAssertTrue(r.stderr.contains(line), "missing '\(line)' in: \(r.stderr)")
        }
        XCTAssertFalse(r.stderr.contains("never destroyed") || r.stderr.contains("leaked"), r.stderr)
        let bad = try Husk.run(["run", "--component-file", so.path, "--param", "hello.ticks=0"])
        XCTAssertEqual(bad.status, 3, bad.output)
        XCTAssertTrue(bad.stderr.contains("out of range"), bad.stderr)
    }

    /// A component library (docs/virtio.md) goes into a shared component as
    /// its own copy: virtio_blk and the virtio library built with the
    /// documented command export nothing but the entry point, and the
    /// driver attaches to the sim's device from the .so.
    func testASharedComponentLinksItsOwnCopyOfTheVirtioLibrary() throws {
        let dir = try scratchURL(self)
        let so = dir.appendingPathComponent("vblk.so")
        let root = Husk.packageRoot.appendingPathComponent("Sources/Components")
        let sources = try ["virtio", "virtio_blk"].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
                .filter { $0.hasSuffix(".c") }.sorted().map { root.appendingPathComponent("\(folder)/\($0)").path }
        }
        let script = Husk.packageRoot.appendingPathComponent("scripts/build-component.sh").path
        let includes = [
            "-I", root.appendingPathComponent("virtio/include").path, "-I", root.appendingPathComponent("virtio_blk/include").path
        ]
        let b = try runTool(script, includes + sources + ["-o", so.path])
        XCTAssertEqual(b.status, 0, b.output)
        let nm = try runTool("/usr/bin/nm", ["-D", "--defined-only", so.path])
        let exported = nm.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
            .filter { !$0.hasPrefix("_") }
        XCTAssertEqual(exported, ["husk_component_entry"], "the library's symbols stay hidden in the .so")
        let r = try Husk.run(["run", "--once", "--backend", "sim", "--device", "virtio-blk:size=1M", "--component-file", so.path])
        XCTAssertEqual(r.status, 0, r.output)
        for line in ["disk vblk0: 2048 blocks of 512 bytes", "loaded virtio_blk", "detached disk vblk0"] {
            XCTAssertTrue(r.stderr.contains(line), "missing '\(line)' in: \(r.stderr)")
        }
    }

    /// HUSK_COMPONENT(NAME) with NAME a macro names one symbol, built in and shared.
    func testAComponentNameMayBeAMacro() throws {
        let dir = try scratchURL(self)
        let source = """
            #include <husk/hypercall.h>
            #define MY_COMPONENT macro_named
            static int32_t m_init(husk_ctx *ctx, const struct husk_hyp *hyp) { hyp->log(ctx, HUSK_LOG_INFO, "macro init"); return 0; }
            HUSK_COMPONENT(MY_COMPONENT) = { .abi_major = HUSK_ABI_MAJOR, .abi_minor = 0, .name = "macro-named",
                .description = "named through a macro", .kind = HUSK_KIND_OTHER, .init = m_init };
            """
        let c = dir.appendingPathComponent("macro.c")
        try source.write(to: c, atomically: true, encoding: .utf8)
        let o = dir.appendingPathComponent("macro.o")
        let built = try ComponentBuilder.compile(c, to: o)
        XCTAssertEqual(built.status, 0, built.output)
        let nm = try runTool("/usr/bin/nm", [o.path])
        XCTAssertTrue(nm.stdout.contains("husk_component_macro_named"), nm.stdout)
        let so = try ComponentBuilder.sharedObject(named: "macro", source: source, in: dir)
        let r = try Husk.run(["run", "--once", "--component-file", so.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("macro init"), r.stderr)
    }

    /// What a component leaves behind is named at unload: callouts, locks
    /// and condition variables as well as memory.
    func testLeftoversAreReportedAtUnload() throws {
        let dir = try scratchURL(self)
        let so = try ComponentBuilder.sharedObject(
            named: "leaky",
            source: """
                #include <husk/glue.h>
                static kmutex_t m; static kcondvar_t cv; static callout_t co; static void *mem;
                static void tick(void *arg) {}
                static int32_t l_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
                    mutex_init(&m, "leaky-lock"); cv_init(&cv, "leaky-cv"); callout_init(&co, tick, 0);
                    callout_schedule(&co, 60ull * 1000 * 1000 * 1000);
                    mem = kmem_alloc(100, KM_SLEEP);
                    return 0;
                }
                HUSK_COMPONENT(leaky) = { .abi_major = HUSK_ABI_MAJOR, .abi_minor = 0, .name = "leaky",
                    .description = "leaks on purpose", .kind = HUSK_KIND_OTHER, .init = l_init };
                """, in: dir)
        let r = try Husk.run(["run", "--once", "--component-file", so.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("1 callout(s) never destroyed (1 still pending)"), r.stderr)
        XCTAssertTrue(
            r.stderr.contains("never destroyed 2 lock(s) and condition variable(s): mutex 'leaky-lock', condvar 'leaky-cv'"),
            r.stderr)
        XCTAssertTrue(r.stderr.contains("leaky leaked 100 bytes of memory"), r.stderr)
    }

    /// Several files at once: one that cannot load is refused and the others
    /// run; a name given twice keeps the first copy.
    func testUnloadableAndDuplicateFilesAreRefusedAlone() throws {
        let dir = try scratchURL(self)
        let a = try ComponentBuilder.sharedObject(named: "a", source: Self.source(name: "a"), in: dir)
        let twin = try ComponentBuilder.sharedObject(named: "a2", source: Self.source(name: "a"), in: dir)
        let r = try Husk.run([
            "run", "--component-file", dir.appendingPathComponent("missing.so").path,
            "--component-file", a.path, "--component-file", twin.path
        ])
        XCTAssertEqual(r.status, 3, r.output)
        XCTAssertTrue(r.stderr.contains("refused: cannot load component"), r.stderr)
        XCTAssertTrue(
            r.stderr.contains("component 'a' is given twice: the copy from \(twin.path) is refused, the one from \(a.path) is used"),
            r.stderr)
        XCTAssertTrue(r.stderr.contains("run a"), "the first copy still runs: \(r.stderr)")
        XCTAssertEqual(r.stderr.components(separatedBy: "init a").count, 2, "initialised once: \(r.stderr)")
    }

    /// glue_dev_logf prefixes the device; glue_strerror names ABI codes.
    func testDeviceLogLinesAndErrorNames() throws {
        let dir = try scratchURL(self)
        let so = try ComponentBuilder.sharedObject(
            named: "devlog",
            source: """
                #include <husk/glue.h>
                static int32_t d_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
                    glue_dev_logf(LOG_WARN, "0000:00:04.0", "queue %u: %s", 3u, glue_strerror(HUSK_ENOMEM));
                    glue_dev_logf(LOG_INFO, NULL, "%s and %s", glue_strerror(0), glue_strerror(12345));
                    return 0;
                }
                HUSK_COMPONENT(devlog) = { .abi_major = HUSK_ABI_MAJOR, .abi_minor = 0, .name = "devlog",
                    .description = "device log lines", .kind = HUSK_KIND_OTHER, .init = d_init };
                """, in: dir)
        let r = try Husk.run(["run", "--once", "--component-file", so.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("[warn] devlog: 0000:00:04.0: queue 3: ENOMEM"), r.stderr)
        XCTAssertTrue(r.stderr.contains("devlog: (no device): OK and unknown error"), r.stderr)
    }
}
