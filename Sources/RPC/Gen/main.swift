#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// husk-rpcgen: generate Swift and C stubs from IDL files (docs/idl.md).
///
///     husk-rpcgen [--swift-out DIR] [--c-out DIR] [--check] FILE.idl...
///
/// --check writes nothing and exits 1 if a generated file is missing or
/// differs. Exit status 2: bad arguments or an IDL error (printed as
/// file:line:column: error: message).
let usage = "usage: husk-rpcgen [--swift-out DIR] [--c-out DIR] [--check] FILE.idl..."

func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    printError(message)
    exit(status)
}

@MainActor func value(_ option: String) -> String {
    guard let v = args.popFirst() else { fail("\(option) needs a directory\n\(usage)") }
    return v
}

var swiftOut: String?
var cOut: String?
var check = false
var inputs: [String] = []
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--swift-out": swiftOut = value(a)
    case "--c-out": cOut = value(a)
    case "--check": check = true
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        if a.hasPrefix("-") { fail("unknown option '\(a)'\n\(usage)") }
        inputs.append(a)
    }
}
if inputs.isEmpty { fail("no IDL files given\n\(usage)") }
if swiftOut == nil && cOut == nil { fail("nothing to do: give --swift-out and/or --c-out\n\(usage)") }

let output: Generator.Output
do {
    output = try Generator.generate(paths: inputs)
} catch {
    fail("\(error)")
}

var targets: [(files: [String: String], dir: String, suffixes: [String])] = []
if let swiftOut { targets.append((output.swift, swiftOut, [".swift"])) }
if let cOut { targets.append((output.c, cOut, [".h", ".c"])) }

if check {
    let diffs = targets.flatMap { Generator.differences($0.files, in: $0.dir, generatedSuffixes: $0.suffixes) }
    for d in diffs { printError(d) }
    if !diffs.isEmpty { fail("generated files are out of date: run scripts/rpcgen.sh", status: 1) }
    print("husk-rpcgen: \(targets.reduce(0) { $0 + $1.files.count }) generated files up to date")
} else {
    do {
        for t in targets {
            for name in try Generator.write(t.files, into: t.dir, generatedSuffixes: t.suffixes) {
                print("husk-rpcgen: wrote \(t.dir)/\(name)")
            }
        }
    } catch {
        fail("\(error)")
    }
}
