import XCTest

/// One `BENCH <name> <value> <unit>` line of a bench's output
/// (../shared/DESIGN.md, docs/BENCHMARKS.md).
public struct BenchLine: Sendable, Equatable {
    public let name: String
    public let value: Double
    public let unit: String
    /// The whole line, for failure messages.
    public let text: String
}

/// The BENCH lines of a bench's standard output, in order. A line that
/// starts with `BENCH ` but is not exactly a name, a finite number and a
/// unit fails the calling test and is left out; what each bench's values
/// and units must be stays with its own test.
public func benchLines(in output: String, file: StaticString = #filePath, line: UInt = #line) -> [BenchLine] {
    var out: [BenchLine] = []
    for text in output.split(separator: "\n") where text.hasPrefix("BENCH ") {
        let f = text.split(separator: " ", omittingEmptySubsequences: false)
        guard f.count == 4, !f[1].isEmpty, !f[3].isEmpty, let v = Double(f[2]), v.isFinite else {
            XCTFail("malformed BENCH line: \(text)", file: file, line: line)
            continue
        }
        out.append(BenchLine(name: String(f[1]), value: v, unit: String(f[3]), text: String(text)))
    }
    return out
}
