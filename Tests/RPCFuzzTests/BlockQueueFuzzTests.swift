import Foundation
import HuskTestSupport
import RPCFuzzing
import XCTest

/// The block-queue cases of the fuzz target (BlockQueueFuzz, docs/fuzzing.md)
/// replayed in a normal build: the seeds, the corpus files and deterministic
/// mutations, each through a device opened on an in-process block server
/// with its queue set up; no broken invariant and no descriptor leak.
final class BlockQueueFuzzTests: XCTestCase {
    static let corpus = RingFuzzTests.corpus

    /// The harness's RAM disk leaves the glue registry with the suite: other
    /// suites in this process list every registered disk.
    override class func tearDown() {
        BlockQueueFuzz.withdrawRamDisk()
        super.tearDown()
    }

    func openDescriptors() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count }

    func replay(_ bytes: [UInt8], _ name: String, input: Bool = false) {
        let before = openDescriptors()
        let v = bytes.withUnsafeBytes { input ? BlockQueueFuzz.runInput($0) : BlockQueueFuzz.run($0) }
        XCTAssertEqual(v, [], name)
        let end = Date().addingTimeInterval(5)
        while openDescriptors() > before && Date() < end { usleep(1000) }
        XCTAssertLessThanOrEqual(openDescriptors(), before, "\(name): descriptors leaked")
    }

    /// The committed seeds are BlockQueueFuzz.seeds (HUSK_FUZZ_WRITE_SEEDS=1 rewrites them).
    func testBlockQueueSeedFilesAreCurrent() throws {
        let write = ProcessInfo.processInfo.environment["HUSK_FUZZ_WRITE_SEEDS"] == "1"
        for (name, bytes) in BlockQueueFuzz.seeds {
            let url = Self.corpus.appendingPathComponent("\(name).bin")
            let file = [BlockQueueFuzz.marker] + bytes
            if write { try Data(file).write(to: url) }
            XCTAssertEqual((try? Data(contentsOf: url)).map { Array($0) }, file, "\(url.path) is not BlockQueueFuzz's seed")
        }
    }

    func testSeedsCorpusAndMutationsKeepTheInvariants() throws {
        // Once, before counting descriptors: the server and the hypercall
        // host are created on first use and keep theirs.
        XCTAssertEqual([UInt8]().withUnsafeBytes { BlockQueueFuzz.run($0) }, [])
        for (name, bytes) in BlockQueueFuzz.seeds { replay(bytes, name) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)) ?? []
        for n in names.sorted() where n.hasPrefix("blkq-") && n.hasSuffix(".bin") {
            replay(Array(try Data(contentsOf: Self.corpus.appendingPathComponent(n))), n, input: true)
        }
        var rng = SplitMix(seed: 0x424C_4B51)
        for k in 0..<200 {
            var b = BlockQueueFuzz.seeds[k % BlockQueueFuzz.seeds.count].bytes
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                switch rng.next() % 3 {
                case 0 where !b.isEmpty: b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.insert(UInt8(truncatingIfNeeded: rng.next() % 7), at: Int(rng.next() % UInt64(b.count + 1)))
                default: b += (0..<Int(rng.next() % 12)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                }
            }
            replay(b, "mutation \(k)")
        }
    }
}
