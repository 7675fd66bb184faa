// libFuzzer entry point of the RPC fuzz target (docs/fuzzing.md). Built only
// by scripts/fuzz-rpc.sh with -sanitize=fuzzer,address -parse-as-library:
// libFuzzer supplies main(), so this file cannot be part of a SwiftPM target
// that a normal `swift build` links.
import RPCFuzzing

@_cdecl("LLVMFuzzerTestOneInput")
public func rpcFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    fuzzPayloadDecoding(buffer)
    fuzzOneMessageSequence(buffer)
    fuzzOneRingSequence(buffer)
    fuzzOneBlockQueueSequence(buffer)
    return 0
}
