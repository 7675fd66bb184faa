import ArgumentParser
import DiskPattern
import Glibc

/// `husk vm pattern`: fill a disk image with pattern 1 / verify pattern 1 or 2.
struct VMPattern: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pattern",
        abstract: "Fill a disk image with the VM test pattern 1, or verify pattern 1 or 2.",
        discussion: "Pattern 1: the 8-byte little-endian word at byte offset o is o ^ nonce; pattern 2: o ^ ~nonce.")
    @Option(help: "Image file (created for a fill).") var file: String
    @Option(help: "Bytes (a multiple of 1 MiB for a fill, of 8 for a verify).") var bytes: UInt64
    @Option(help: "Nonce, hex u64.") var nonce: String
    @Flag(help: "Verify pattern 2 instead of filling.") var verifySecond = false
    @Flag(help: "Verify pattern 1 instead of filling.") var verifyFirst = false

    func validate() throws {
        guard DiskPattern.parseNonce(nonce) != nil else { throw ValidationError("--nonce must be a hex u64") }
        guard bytes > 0, bytes % 8 == 0 else { throw ValidationError("--bytes must be a positive multiple of 8") }
        guard !(verifyFirst && verifySecond) else { throw ValidationError("--verify-first or --verify-second, not both") }
    }

    func run() throws {
        let key = DiskPattern.parseNonce(nonce)!
        if verifyFirst || verifySecond {
            let r = verifyPatternFile(path: file, bytes: bytes, nonce: key, second: verifySecond, direct: false)
            print("pattern \(r.bad == 0 ? "OK" : "MISMATCH"): \(file): \(r.detail)")
            if r.bad != 0 { throw ExitCode(1) }
            return
        }
        do throws(PatternFileError) { try writePatternFile(path: file, bytes: bytes, nonce: key) } catch {
            printError("husk vm pattern: \(error)")
            throw ExitCode(1)
        }
        print("pattern 1 written: \(file), \(bytes) bytes, nonce 0x\(String(key, radix: 16))")
    }
}
