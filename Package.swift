// swift-tools-version:6.0
// Husk: kernel-grade C components as user-space servers. See README.md and docs/.
import PackageDescription

/// Components and the conformance suite are portable C: they may include only
/// the hypercall and glue headers. -ffreestanding -nostdlibinc makes any libc
/// include fail to compile; Tests/ComponentTests checks their undefined symbols.
let componentCFlags: [CSetting] = [
    .unsafeFlags(["-std=c11", "-ffreestanding", "-nostdlibinc", "-fno-builtin",
                  "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]),
]
let hostCFlags: [CSetting] = [
    .unsafeFlags(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]),
]

let package = Package(
    name: "Husk",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "husk", targets: ["husk"]),
        .executable(name: "husk-rpcgen", targets: ["RPCGen"]),
        .executable(name: "husk-vm", targets: ["husk-vm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // The ABI contract: husk/hypercall.h.
        .target(name: "HypercallABI", cSettings: hostCFlags),
        // Thin C shims for what Swift cannot call directly (futex, ioctl,
        // thread-local storage, atomics on raw memory).
        .target(name: "HuskSys", cSettings: hostCFlags),
        // The host: the hypercall table implemented in Swift, the posix backend
        // and the backend interface the other backends implement.
        .target(name: "Hypercalls", dependencies: ["HypercallABI", "HuskSys"]),
        .target(name: "SimBackend", dependencies: ["Hypercalls", "HuskSys"]),
        // Sysfs, descriptors, region I/O and the IOVA allocator shared by the
        // backends that drive real PCI functions.
        .target(name: "PCIHostSupport", dependencies: ["Hypercalls", "HuskSys"]),
        .target(name: "VFIOBackend", dependencies: ["Hypercalls", "HuskSys", "PCIHostSupport"]),
        .target(name: "UIOBackend", dependencies: ["Hypercalls", "HuskSys", "PCIHostSupport"]),
        // The glue: kernel-style C API (headers, inline accessors) ...
        .target(name: "GlueAPI", dependencies: ["HypercallABI"], cSettings: hostCFlags),
        // ... whose logic is Swift over the hypercall table.
        .target(name: "Glue", dependencies: ["GlueAPI", "HypercallABI"]),
        // Components (portable C units) and the conformance suite (a component).
        .target(name: "EduComponent", dependencies: ["GlueAPI", "HypercallABI"],
                path: "Sources/Components/edu", cSettings: componentCFlags),
        .target(name: "BlkfileComponent", dependencies: ["GlueAPI", "HypercallABI"],
                path: "Sources/Components/blkfile", cSettings: componentCFlags),
        .target(name: "VirtioBlkComponent", dependencies: ["GlueAPI", "HypercallABI"],
                path: "Sources/Components/virtio_blk", cSettings: componentCFlags),
        .target(name: "BlkcopyComponent", dependencies: ["GlueAPI", "HypercallABI"],
                path: "Sources/Components/blkcopy", cSettings: componentCFlags),
        .target(name: "Conformance", dependencies: ["HypercallABI"],
                path: "Sources/Conformance", cSettings: componentCFlags),
        // Native RPC: wire format and the contract with generated stubs
        // (no sockets, so it can be fuzzed and reused by other transports).
        .target(name: "RPCWire"),
        // Interfaces declared once (Interfaces/*.idl): husk-rpcgen generates the
        // Swift stubs (RPCInterfaces/Generated) and the C client functions
        // (RPCClientC/generated) over the C client runtime. docs/idl.md.
        .executableTarget(name: "RPCGen"),
        .target(name: "RPCInterfaces", dependencies: ["RPCWire"]),
        .target(name: "RPCClientC", cSettings: hostCFlags),
        // Native RPC runtime: AF_UNIX SOCK_SEQPACKET transport, server runtime,
        // Swift client, and the hand-written echo handler (docs/rpc-runtime.md).
        .target(name: "RPCTransport", dependencies: ["RPCWire", "HuskSys"]),
        .target(name: "RPCServer", dependencies: ["RPCWire", "RPCTransport", "Hypercalls", "HypercallABI", "HuskSys", "Glue",
                                                 .product(name: "Logging", package: "swift-log")]),
        .target(name: "RPCClient", dependencies: ["RPCWire", "RPCTransport", "HuskSys"]),
        .target(name: "RPCEcho", dependencies: ["RPCWire", "RPCServer", "RPCClient", "RPCInterfaces", "HuskSys"]),
        // libFuzzer harness of the RPC decoder and server dispatch path (docs/fuzzing.md).
        // Its fuzzer executable (Fuzz/rpc) exists only for scripts/fuzz-rpc.sh (end of file).
        .target(name: "RPCFuzzing", dependencies: ["RPCWire", "RPCTransport", "RPCServer", "RPCEcho", "RPCInterfaces", "HuskSys"]),
        // The block server (docs/block.md): the blk interface over glue disks.
        .target(name: "BlockServer", dependencies: ["Glue", "GlueAPI", "HypercallABI", "Hypercalls", "RPCInterfaces",
                                                    "RPCServer", "RPCWire", "RPCTransport"],
                path: "Sources/Servers/Block"),
        .target(name: "BlockClient", dependencies: ["RPCClient", "RPCInterfaces", "RPCWire"]),
        // The disk test pattern (word at offset o = o ^ key), shared by the
        // block demo, the benchmarks, the VM guest and host, and the tests.
        .target(name: "DiskPattern", dependencies: ["HuskSys"]),
        // libvirt's C API (libvirt-dev via pkg-config; scripts/setup-vm.sh) and
        // the host side of `husk vm` over it. Only husk-vm links them: husk
        // itself, and everything that runs in a guest, stays free of libvirt.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .target(name: "VMHost", dependencies: ["CLibvirt", "DiskPattern"]),
        .executableTarget(name: "husk-vm", dependencies: [
            "VMHost", "VMImage", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmark loops in C: the hypercall table against pthreads directly.
        .target(name: "HypBench", dependencies: ["HypercallABI"], cSettings: hostCFlags),
        // `husk bench rpc` in C: raw SEQPACKET ping-pong and loops over the generated echo client.
        // It links the generated C client (RPCClientC) exactly as a C program would.
        .target(name: "RPCBenchC", dependencies: ["RPCClientC"],
                cSettings: hostCFlags + [.headerSearchPath("../RPCClientC/generated")]),
        // Privilege separation for servers: RLIMIT_MEMLOCK, drop to a numeric
        // uid/gid, no_new_privs, seccomp allow-list (libseccomp from Debian's
        // libseccomp-dev, ThirdPartyC/README.md). docs/sandbox.md.
        .target(name: "SandboxC", cSettings: hostCFlags, linkerSettings: [.linkedLibrary("seccomp")]),
        .target(name: "Sandbox", dependencies: ["SandboxC"]),
        // Component model: static registry, dlopen, versions, dependency order.
        .target(name: "HuskHost", dependencies: [
            "Hypercalls", "SimBackend", "VFIOBackend", "UIOBackend", "Glue",
            "EduComponent", "BlkcopyComponent", "BlkfileComponent", "VirtioBlkComponent", "Conformance",
        ]),
        // The NBD frontend of the block server: glue disks exported over
        // AF_UNIX stream sockets to qemu and other NBD clients (docs/nbd.md).
        .target(name: "NBDFrontend", dependencies: ["Glue", "HuskSys", "HypercallABI"], path: "Sources/Servers/NBD"),
        // `husk up/status/down`: stack config, supervisor, control socket (docs/supervision.md).
        .target(name: "Supervisor", dependencies: ["RPCTransport", "HuskSys"]),
        // `husk vm image`: the test guest's kernel + initramfs (Debian kernel, busybox, static husk,
        // /init). Pure Swift over posix_spawn, no libvirt (docs/vm-guest.md).
        .target(name: "VMImage"),
        .executableTarget(name: "husk", dependencies: [
            "HuskHost", "HypBench", "HuskSys", "RPCServer", "RPCClient", "RPCEcho", "RPCBenchC", "Sandbox", "Supervisor",
            "BlockServer", "BlockClient", "NBDFrontend", "VMImage", "DiskPattern",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [
            // dlopen()ed components resolve glue symbols against the executable.
            .unsafeFlags(["-Xlinker", "--export-dynamic"]),
        ]),
        .testTarget(name: "HypercallsTests", dependencies: ["Hypercalls", "HuskHost", "VFIOBackend", "UIOBackend", "PCIHostSupport"]),
        .testTarget(name: "GlueTests", dependencies: ["Glue", "HuskHost"]),
        // The virtio_blk driver against the sim backend's virtio-blk device, through Glue.Disk.
        .testTarget(name: "VirtioBlkDriverTests", dependencies: ["Glue", "GlueAPI", "HuskHost", "Hypercalls", "SimBackend", "VirtioBlkComponent"]),
        .testTarget(name: "SimBackendTests", dependencies: ["SimBackend", "Hypercalls"]),
        .testTarget(name: "IntegrationTests", dependencies: ["HuskHost"]),
        // Helpers shared by the test targets: the husk binary, scratch
        // directories, child processes, polling with a deadline.
        .target(name: "HuskTestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "VMHostTests", dependencies: ["VMHost", "DiskPattern"]),
        .testTarget(name: "RPCGenTests", dependencies: ["RPCGen", "RPCInterfaces", "RPCWire"]),
        .testTarget(name: "RPCTests", dependencies: ["RPCWire", "RPCTransport", "RPCServer", "RPCClient", "RPCEcho", "HuskSys",
                                                "BlockClient", "RPCInterfaces", "BlockServer", "HuskHost", "SimBackend", "Glue",
                                                "HuskTestSupport", "DiskPattern"]),
        // Signals both ways, events, reconnect/ESTALE, caller credentials through the glue.
        .testTarget(name: "RPCSignalTests", dependencies: ["RPCWire", "RPCTransport", "RPCServer", "RPCClient", "RPCEcho", "RPCInterfaces", "HuskSys", "Glue", "GlueAPI",
                                                      "HuskTestSupport"]),
        .testTarget(name: "RPCFuzzTests", dependencies: ["RPCFuzzing", "RPCWire", "RPCTransport", "HuskSys"]),
        // Runs `husk bench rpc --quick` and checks its BENCH lines (never timing values).
        .testTarget(name: "RPCBenchTests"),
        // Sandboxed `husk echo serve` processes: credentials, no_new_privs, seccomp per thread.
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "SandboxC", "HuskTestSupport"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor"]),
        // The NBD frontend against qemu-img and qemu-io, and hostile raw clients.
        .testTarget(name: "NBDTests", dependencies: ["NBDFrontend", "Glue", "HuskHost", "Hypercalls", "HypercallABI", "HuskSys"]),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer executable (Fuzz/rpc/main.swift) exists only when
// scripts/fuzz-rpc.sh sets HUSK_FUZZ=1: libFuzzer supplies its main(), so it
// links only with -sanitize=fuzzer and must not be part of a normal build.
if Context.environment["HUSK_FUZZ"] == "1" {
    package.targets.append(.executableTarget(name: "rpc-fuzz", dependencies: ["RPCFuzzing"], path: "Fuzz/rpc",
                                             swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
