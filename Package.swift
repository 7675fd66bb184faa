// swift-tools-version:6.0
// Husk: kernel-grade C components as user-space servers. See README.md,
// docs/architecture.md (the layers, their folders, what each may depend on).
import PackageDescription

/// Components and the conformance suite are portable C: they may include only
/// the hypercall and glue headers. -ffreestanding -nostdlibinc makes any libc
/// include fail to compile; Tests/IntegrationTests/ComponentSymbolTests checks
/// their undefined symbols.
let componentCFlags: [CSetting] = [
    .unsafeFlags([
        "-std=c11", "-ffreestanding", "-nostdlibinc", "-fno-builtin",
        "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"
    ])
]
let hostCFlags: [CSetting] = [
    .unsafeFlags(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"])
]

/// The components linked into husk. Adding one is a folder under
/// Sources/Components/<name> plus its name here: the target is
/// <Name>Component, and its HUSK_COMPONENT descriptor lands in the
/// `husk_components` link set that ComponentHost reads (docs/components.md).
let componentNames = ["edu", "blkcopy", "blkfile", "virtio_blk", "virtio_net", "tap", "conformance", "lwip", "ext2fs"]

/// Libraries for components: C under Sources/Components/<name> built like a
/// component (same flags, same symbol checks) but with no descriptor, and
/// so not in componentNames. A component lists the ones it links in
/// componentLibraries; the target is Component<Name>.
let componentLibraryNames = ["virtio"]
let componentLibraries: [String: [String]] = ["virtio_blk": ["virtio"], "virtio_net": ["virtio"]]

/// Components built around a vendored subsystem (docs/components.md,
/// "Vendored subsystems"): the component folder holds only the port layer;
/// the subsystem's source (byte for byte upstream, ThirdPartyC/<name>/
/// PROVENANCE) is a target of its own whose path is the upstream source
/// folder, so that nothing is added to ThirdPartyC. It finds upstream's
/// include folder, the port layer's configuration headers (lwipopts.h,
/// arch/) and the C subset's standard headers (Sources/Glue/API/csubset)
/// through header search paths, and everything in it is hidden, since
/// upstream declarations cannot carry HUSK_PRIVATE. (One target rooted at
/// the package root, listing both folders, breaks SwiftPM's incremental
/// builds in scratch paths inside the package such as .build-static:
/// "unknown build description".)
let vendoredComponents: [String: VendoredComponent] = [
    // headerless: an upstream folder without headers (see publicHeadersPath below).
    "lwip": VendoredComponent(
        upstream: "ThirdPartyC/lwip/src", target: "LwipUpstream", headerless: "core", include: "ThirdPartyC/lwip/src/include"),
    // libext2fs (docs/fs.md): the sources are lib/ext2fs; its headers are
    // included as <ext2fs/...> and <et/...>, so lib/ is the include folder
    // (and the target is rooted at the top, where version.c finds
    // version.h; doc/ holds only the library's manual). gen_crc32ctable.c is
    // a build-time generator and the .in files its inputs
    // (scripts/e2fsprogs-gen.sh), not library code.
    // The port's generated/ folder holds what upstream's build generates;
    // generated/ext2_err.c is compiled through e2port_errtab.c.
    "ext2fs": VendoredComponent(
        upstream: "ThirdPartyC/e2fsprogs", target: "Ext2fsUpstream", headerless: "doc", include: "ThirdPartyC/e2fsprogs/lib",
        sources: ["lib/ext2fs"],
        upstreamExclude: [
            "lib/ext2fs/gen_crc32ctable.c", "lib/ext2fs/ext2_types.h.in", "lib/ext2fs/ext2_err.et.in"
        ], portHeaders: ["generated"],
        portExclude: ["generated/ext2_err.c"])
]
struct VendoredComponent {
    var upstream: String, target: String, headerless: String?, include: String
    var sources: [String]? = nil, upstreamExclude: [String] = [], portHeaders: [String] = [], portExclude: [String] = []
}

func componentTarget(_ folder: String) -> String {
    folder.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Component"
}
func componentLibraryTarget(_ folder: String) -> String {
    "Component" + folder.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
}
let componentLibraryTargets: [Target] = componentLibraryNames.map {
    .target(
        name: componentLibraryTarget($0), dependencies: ["GlueAPI", "HypercallABI"],
        path: "Sources/Components/\($0)", cSettings: componentCFlags)
}
let csubsetHeaders = "Sources/Glue/API/csubset"
let componentTargets: [Target] = componentNames.flatMap { name -> [Target] in
    let port = "Sources/Components/\(name)"
    let libraries: [Target.Dependency] = (componentLibraries[name] ?? []).map { .target(name: componentLibraryTarget($0)) }
    guard let vendored = vendoredComponents[name] else {
        return [
            .target(
                name: componentTarget(name), dependencies: ["GlueAPI", "HypercallABI"] + libraries, path: port,
                cSettings: componentCFlags)
        ]
    }
    // From the upstream folder back to the package root.
    let up = vendored.upstream.split(separator: "/").map { _ in ".." }.joined(separator: "/")
    // -UDEBUG: SwiftPM defines DEBUG in debug builds, and upstream code
    // uses that name for test programs of its own (libext2fs's main()s).
    let hidden: [CSetting] = [.unsafeFlags(["-fvisibility=hidden", "-UDEBUG"])]
    return [
        .target(
            name: vendored.target, dependencies: ["GlueAPI", "HypercallABI"], path: vendored.upstream,
            exclude: vendored.upstreamExclude, sources: vendored.sources,
            // No public headers (a folder without any): SwiftPM would make a
            // Clang module of upstream's include folder, and headers meant to
            // be included textually (X-macro lists such as lwIP's
            // memp_std.h) do not compile as a module. Both targets name the
            // include folder in their search paths instead.
            publicHeadersPath: vendored.headerless,
            cSettings: componentCFlags + [
                .headerSearchPath("\(up)/\(vendored.include)"), .headerSearchPath("\(up)/\(port)"),
                .headerSearchPath("\(up)/\(csubsetHeaders)")
            ] + vendored.portHeaders.map { .headerSearchPath("\(up)/\(port)/\($0)") } + hidden),
        .target(
            name: componentTarget(name), dependencies: ["GlueAPI", "HypercallABI", .target(name: vendored.target)] + libraries,
            path: port, exclude: vendored.portExclude,
            cSettings: componentCFlags + [
                .headerSearchPath("."), .headerSearchPath("../../../\(vendored.include)"),
                .headerSearchPath("../../../\(csubsetHeaders)")
            ] + vendored.portHeaders.map { .headerSearchPath($0) } + hidden)
    ]
}
let componentDependencies: [Target.Dependency] = componentNames.map { .target(name: componentTarget($0)) }

// Sources/Platform: what every host-side layer needs from Linux.
let platform: [Target] = [
    // Thread names, eventfd, getrandom, O_DIRECT, stdout buffering.
    .target(name: "PlatformC", path: "Sources/Platform/PlatformC", cSettings: hostCFlags),
    // Monitor (mutex + condvar), Locked<Value>, HostThread, EventFD: the one
    // way host-side Swift locks, waits and starts threads.
    .target(name: "Platform", dependencies: ["PlatformC"], path: "Sources/Platform/Platform")
]

// Sources/Hypercalls: the ABI, the host that implements it, the backends.
let hypercalls: [Target] = [
    // The ABI contract: husk/hypercall.h.
    .target(name: "HypercallABI", path: "Sources/Hypercalls/ABI", cSettings: hostCFlags),
    // Futexes, atomics on raw memory and the per-thread record pointer for
    // the host's fast paths.
    .target(name: "HostSys", path: "Sources/Hypercalls/HostSys", cSettings: hostCFlags),
    // The host: the hypercall table implemented in Swift, the posix backend
    // and the backend interface the other backends implement.
    .target(name: "Hypercalls", dependencies: ["HypercallABI", "HostSys", "Platform", "PlatformC"], path: "Sources/Hypercalls/Host"),
    .target(name: "SimBackendC", path: "Sources/Hypercalls/Backends/SimC", cSettings: hostCFlags),
    .target(
        name: "SimBackend", dependencies: ["Hypercalls", "SimBackendC", "Platform", "PlatformC"],
        path: "Sources/Hypercalls/Backends/Sim"),
    // ioctl, VFIO request numbers and structures, MMIO accessors.
    .target(name: "PCIHostC", path: "Sources/Hypercalls/Backends/PCIHostC", cSettings: hostCFlags),
    // Sysfs, descriptors, region I/O and the IOVA allocator shared by the
    // backends that drive real PCI functions.
    .target(
        name: "PCIHostSupport", dependencies: ["Hypercalls", "PCIHostC", "PlatformC"],
        path: "Sources/Hypercalls/Backends/PCIHost"),
    .target(
        name: "VFIOBackend", dependencies: ["Hypercalls", "PCIHostC", "PlatformC", "PCIHostSupport"],
        path: "Sources/Hypercalls/Backends/VFIO"),
    .target(name: "UIOBackend", dependencies: ["Hypercalls", "PCIHostSupport"], path: "Sources/Hypercalls/Backends/UIO")
]

// Sources/Glue: the kernel-style C API and its Swift logic.
let glue: [Target] = [
    // Headers (husk/glue.h and husk/glue/*.h) and inline accessors ...
    .target(name: "GlueAPI", dependencies: ["HypercallABI"], path: "Sources/Glue/API", cSettings: hostCFlags),
    // ... whose logic is Swift over the hypercall table.
    .target(name: "Glue", dependencies: ["GlueAPI", "HypercallABI"], path: "Sources/Glue/Logic")
]

// Sources/RPC: the native RPC (docs/protocol.md, docs/rpc-runtime.md, docs/idl.md).
let rpc: [Target] = [
    // Wire format and the contract with generated stubs (no sockets, so it
    // can be fuzzed and reused by other transports).
    .target(name: "RPCWire", dependencies: ["Platform"], path: "Sources/RPC/Wire"),
    // Interfaces declared once (Interfaces/*.idl): husk-rpcgen generates the
    // Swift stubs (RPC/Interfaces/Generated) and the C client functions
    // (RPC/ClientC/generated) over the C client runtime.
    .executableTarget(name: "RPCGen", path: "Sources/RPC/Gen"),
    .target(name: "RPCInterfaces", dependencies: ["RPCWire"], path: "Sources/RPC/Interfaces"),
    .target(name: "RPCClientC", path: "Sources/RPC/ClientC", cSettings: hostCFlags),
    // AF_UNIX SOCK_SEQPACKET with SCM_RIGHTS and peer credentials, memfd seals.
    // (The transport also uses the call rings of RPCClientC's husk/rpc_ring.h,
    // one implementation for the C client and the Swift transport.)
    .target(name: "RPCSys", path: "Sources/RPC/Sys", cSettings: hostCFlags),
    // Transport, server runtime, Swift client.
    .target(name: "RPCTransport", dependencies: ["RPCWire", "RPCSys", "RPCClientC", "Platform"], path: "Sources/RPC/Transport"),
    .target(
        name: "RPCServer",
        dependencies: [
            "RPCWire", "RPCTransport", "RPCSys", "RPCClientC", "Platform", "Hypercalls", "HypercallABI", "Glue",
            .product(name: "Logging", package: "swift-log")
        ],
        path: "Sources/RPC/Server"),
    .target(
        name: "RPCClient", dependencies: ["RPCWire", "RPCTransport", "RPCSys", "RPCClientC", "Platform", "PlatformC"],
        path: "Sources/RPC/Client"),
    // The echo interface: the RPC's own test service (its checksum is CRC-32C).
    .target(name: "ChecksumC", path: "Sources/RPC/Checksum", cSettings: hostCFlags),
    .target(
        name: "RPCEcho", dependencies: ["RPCWire", "RPCServer", "RPCClient", "RPCInterfaces", "ChecksumC", "Platform"],
        path: "Sources/RPC/Echo"),
    // libFuzzer harness of the RPC decoder and server dispatch path (docs/fuzzing.md).
    // Its fuzzer executable (Fuzz/rpc) exists only for scripts/fuzz-rpc.sh (end of file).
    .target(
        name: "RPCFuzzing",
        dependencies: [
            "RPCWire", "RPCTransport", "RPCServer", "RPCEcho", "RPCInterfaces", "RPCSys", "RPCClientC", "Platform",
            "RPCClient", "BlockServer", "Glue", "GlueAPI", "HypercallABI", "Hypercalls"
        ],
        path: "Sources/RPC/Fuzzing")
]

// Sources/Servers: components exported over the RPC, and their clients.
let servers: [Target] = [
    // The block server (docs/block.md): the blk interface over glue disks.
    .target(
        name: "BlockServer",
        dependencies: [
            "Glue", "GlueAPI", "HypercallABI", "Hypercalls", "RPCInterfaces",
            "RPCServer", "RPCWire", "RPCTransport", "RPCClientC", "Platform"
        ],
        path: "Sources/Servers/Block"),
    .target(
        name: "BlockClient", dependencies: ["RPCClient", "RPCClientC", "RPCSys", "RPCInterfaces", "RPCWire", "Platform"],
        path: "Sources/Servers/BlockClient"),
    // The NIC server (docs/nic.md): the nic interface over the glue's NIC registry.
    .target(
        name: "NICServer",
        dependencies: ["GlueAPI", "HypercallABI", "RPCInterfaces", "RPCServer", "RPCWire", "RPCTransport", "Platform"],
        path: "Sources/Servers/NIC"),
    .target(name: "NICClient", dependencies: ["RPCClient", "RPCInterfaces", "RPCWire"], path: "Sources/Servers/NICClient"),
    // The net server (docs/net.md): the net interface over the glue's socket registry.
    .target(
        name: "NetServer",
        dependencies: ["Glue", "GlueAPI", "HypercallABI", "RPCInterfaces", "RPCServer", "RPCWire", "Platform"],
        path: "Sources/Servers/Net"),
    .target(name: "NetClient", dependencies: ["RPCClient", "RPCInterfaces", "RPCWire", "Platform"], path: "Sources/Servers/NetClient"),
    // The BSD-socket C library over the generated net stubs (husk/net_socket.h, docs/net.md).
    .target(
        name: "NetClientC", dependencies: ["RPCClientC"], path: "Sources/Servers/NetClientC",
        cSettings: hostCFlags + [.headerSearchPath("../../RPC/ClientC/generated")]),
    // An interface of a NIC server in another process registered in this
    // process's NIC registry, for a stack over `husk nic serve` (docs/net.md).
    .target(
        name: "NICRemote", dependencies: ["NICClient", "Glue", "GlueAPI", "HypercallABI", "Platform", "RPCWire"],
        path: "Sources/Servers/NICRemote"),
    // The file-system server (docs/fs.md): the fs interface over the glue's file-system registry.
    .target(
        name: "FSServer", dependencies: ["Glue", "GlueAPI", "HypercallABI", "RPCInterfaces", "RPCServer", "RPCWire", "Platform"],
        path: "Sources/Servers/FS"),
    .target(
        name: "FSClient", dependencies: ["RPCClient", "RPCClientC", "FSClientC", "RPCInterfaces", "RPCWire", "Platform"],
        path: "Sources/Servers/FSClient"),
    // The fs client's fast path: fs.idl's generated C stubs, whose calling
    // thread consumes the reply ring itself (docs/fs.md).
    .target(
        name: "FSClientC", dependencies: ["RPCClientC"], path: "Sources/Servers/FSClientC",
        cSettings: hostCFlags + [.headerSearchPath("../../RPC/ClientC/generated")]),
    // A device of a block server in another process registered in this
    // process's disk registry, for a file system over `husk blk serve` (docs/fs.md).
    .target(
        name: "BlockRemote", dependencies: ["BlockClient", "Glue", "GlueAPI", "HypercallABI", "Platform", "RPCWire"],
        path: "Sources/Servers/BlockRemote"),
    // The FUSE frontend of the file-system server (`husk fs mount`, docs/fs.md):
    // libfuse3's low-level API from Debian's libfuse3-dev (pkg-config fuse3;
    // libfuse3.a in the static build). scripts/setup.sh installs it.
    .systemLibrary(name: "CFuse3", path: "Sources/Servers/CFuse3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
    .target(name: "FUSEFrontend", dependencies: ["CFuse3", "FSClient", "RPCInterfaces", "RPCWire"], path: "Sources/Servers/FUSE"),
    // The NBD frontend of the block server: glue disks exported over
    // AF_UNIX stream sockets to qemu and other NBD clients (docs/nbd.md).
    .target(name: "NBDFrontend", dependencies: ["Glue", "RPCSys", "Platform", "HypercallABI"], path: "Sources/Servers/NBD")
]

// Sources/Hosting: running components and servers: the component model,
// privilege separation, supervision.
let hosting: [Target] = [
    // The `husk_components` link set of the built-in components.
    .target(
        name: "ComponentLinkSet", dependencies: ["HypercallABI"], path: "Sources/Hosting/ComponentLinkSet",
        cSettings: hostCFlags),
    // Component model: built-in registry, dlopen, versions, dependency order.
    .target(
        name: "HuskHost",
        dependencies: [
            "Hypercalls", "SimBackend", "VFIOBackend", "UIOBackend", "Glue", "ComponentLinkSet"
        ] + componentDependencies, path: "Sources/Hosting/ComponentHost"),
    // Privilege separation for servers: RLIMIT_MEMLOCK, drop to a numeric
    // uid/gid, no_new_privs, seccomp allow-list (libseccomp from Debian's
    // libseccomp-dev, ThirdPartyC/README.md). docs/sandbox.md.
    .target(
        name: "SandboxC", path: "Sources/Hosting/SandboxC", cSettings: hostCFlags,
        linkerSettings: [.linkedLibrary("seccomp")]),
    .target(name: "Sandbox", dependencies: ["SandboxC", "Platform"], path: "Sources/Hosting/Sandbox"),
    // `husk up/status/down`: stack config, supervisor, control socket (docs/supervision.md).
    .target(name: "Supervisor", dependencies: ["RPCTransport", "RPCSys", "Platform"], path: "Sources/Hosting/Supervisor")
]

// Sources/VM: libvirt test VMs (docs/vm.md, docs/vm-guest.md).
let vm: [Target] = [
    // libvirt's C API (libvirt-dev via pkg-config; scripts/setup-vm.sh) and
    // the host side of `husk vm` over it. Only husk-vm links them: husk
    // itself, and everything that runs in a guest, stays free of libvirt.
    .systemLibrary(name: "CLibvirt", path: "Sources/VM/CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
    .target(name: "VMHost", dependencies: ["CLibvirt", "DiskPattern", "Platform"], path: "Sources/VM/Host"),
    // `husk vm image`: the test guest's kernel + initramfs (Debian kernel, busybox, static husk,
    // /init). Pure Swift over posix_spawn, no libvirt.
    .target(name: "VMImage", path: "Sources/VM/Image"),
    .executableTarget(
        name: "husk-vm",
        dependencies: [
            "VMHost", "VMImage", "Platform", .product(name: "ArgumentParser", package: "swift-argument-parser")
        ], path: "Sources/VM/husk-vm")
]

// Sources/Tools: the husk command and what only it uses.
let tools: [Target] = [
    // The disk test pattern (word at offset o = o ^ key), shared by the
    // block demo, the benchmarks, the VM guest and host, and the tests.
    .target(name: "DiskPattern", dependencies: ["PlatformC"], path: "Sources/Tools/DiskPattern"),
    // Benchmark loops in C: the hypercall table against pthreads directly.
    .target(name: "HypBench", dependencies: ["HypercallABI"], path: "Sources/Tools/HypBench", cSettings: hostCFlags),
    // `husk bench rpc` in C: raw SEQPACKET ping-pong and loops over the generated echo client.
    // It links the generated C client (RPCClientC) exactly as a C program would.
    .target(
        name: "RPCBenchC", dependencies: ["RPCClientC"], path: "Sources/Tools/RPCBenchC",
        cSettings: hostCFlags + [.headerSearchPath("../../RPC/ClientC/generated")]),
    // The raw TAP and AF_PACKET loops `husk bench nic` compares against.
    .target(name: "NICBenchC", path: "Sources/Tools/NICBenchC", cSettings: hostCFlags),
    .executableTarget(
        name: "husk",
        dependencies: [
            "HuskHost", "HypBench", "Platform", "PlatformC", "RPCSys", "GlueAPI", "HypercallABI", "Hypercalls", "RPCServer", "RPCClient",
            "RPCEcho", "RPCBenchC", "NICBenchC", "HostSys", "Sandbox",
            "Supervisor", "BlockServer", "BlockClient", "NICServer", "NICClient", "NBDFrontend", "VMImage", "DiskPattern",
            "NetServer", "NetClient", "NetClientC", "NICRemote", "Glue", "FSServer", "FSClient", "BlockRemote", "FUSEFrontend",
            .product(name: "ArgumentParser", package: "swift-argument-parser")
        ], path: "Sources/Tools/husk",
        linkerSettings: [
            // dlopen()ed components resolve glue symbols against the executable.
            .unsafeFlags(["-Xlinker", "--export-dynamic"])
        ])
]

let tests: [Target] = [
    // Helpers shared by the test targets: the husk binary, scratch
    // directories and images, child processes and the echo server (the one
    // way tests start processes), polling with a deadline.
    .target(name: "HuskTestSupport", dependencies: ["Platform"], path: "Tests/TestSupport"),
    .testTarget(
        name: "HypercallsTests",
        dependencies: [
            "Hypercalls", "HuskHost", "VFIOBackend", "UIOBackend", "PCIHostSupport", "HuskTestSupport"
        ]),
    .testTarget(name: "GlueTests", dependencies: ["Glue", "HuskHost", "HuskTestSupport"]),
    // The virtio_blk driver against the sim backend's virtio-blk device, through Glue.Disk.
    .testTarget(
        name: "VirtioBlkDriverTests",
        dependencies: [
            "Glue", "GlueAPI", "HuskHost", "Hypercalls", "SimBackend",
            "VirtioBlkComponent", "HuskTestSupport"
        ]),
    // The virtio library (Sources/Components/virtio) on its own: a small
    // test driver in C over it (Tests/VirtioTestHooks, component flags) runs
    // scenarios against the sim's virtio-blk device.
    .target(
        name: "VirtioTestHooks", dependencies: ["ComponentVirtio", "GlueAPI", "HypercallABI"],
        path: "Tests/VirtioTestHooks", cSettings: componentCFlags),
    .testTarget(
        name: "VirtioLibTests",
        dependencies: ["VirtioTestHooks", "ComponentVirtio", "HuskHost", "Hypercalls", "HypercallABI", "SimBackend", "HuskTestSupport"]),
    // The virtio_net driver against the sim backend's virtio-net devices, through the NIC registry.
    .testTarget(
        name: "VirtioNetDriverTests",
        dependencies: [
            "Glue", "GlueAPI", "HuskHost", "Hypercalls", "SimBackend",
            "VirtioNetComponent", "HuskTestSupport"
        ]),
    .testTarget(name: "SimBackendTests", dependencies: ["SimBackend", "SimBackendC", "Hypercalls", "HuskTestSupport"]),
    // Fixtures/: C compiled by the tests themselves (the net socket library's check program).
    .testTarget(
        name: "IntegrationTests", dependencies: ["HuskHost", "HuskTestSupport", "NetClient", "RPCInterfaces", "RPCWire", "Platform"],
        exclude: ["Fixtures"]),
    .testTarget(name: "VMHostTests", dependencies: ["VMHost", "DiskPattern", "HuskTestSupport"]),
    // Fixtures/: C compiled by the tests themselves, not by SwiftPM.
    .testTarget(name: "RPCGenTests", dependencies: ["RPCGen", "RPCInterfaces", "RPCWire", "HuskTestSupport"], exclude: ["Fixtures"]),
    .testTarget(
        name: "RPCTests",
        dependencies: [
            "RPCWire", "RPCTransport", "RPCServer", "RPCClient", "RPCEcho", "RPCSys", "RPCClientC",
            "Platform", "BlockClient", "RPCInterfaces", "BlockServer", "HuskHost",
            "SimBackend", "Glue", "HuskTestSupport", "DiskPattern"
        ]),
    // Signals both ways, events, reconnect/ESTALE, caller credentials through the glue.
    .testTarget(
        name: "RPCSignalTests",
        dependencies: [
            "RPCWire", "RPCTransport", "RPCServer", "RPCClient", "RPCEcho",
            "RPCInterfaces", "Glue", "GlueAPI", "HuskTestSupport", "Platform"
        ]),
    .testTarget(name: "RPCFuzzTests", dependencies: ["RPCFuzzing", "RPCWire", "RPCTransport", "RPCSys", "HuskTestSupport"]),
    // Runs `husk bench rpc --quick` and checks its BENCH lines (never timing values).
    .testTarget(name: "RPCBenchTests", dependencies: ["HuskTestSupport"]),
    // Sandboxed `husk echo serve` processes: credentials, no_new_privs, seccomp per thread.
    .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "SandboxC", "HuskTestSupport"]),
    .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "HuskTestSupport"]),
    // The NIC server's semantics in-process: real RPC server and client, a test provider below.
    .testTarget(
        name: "NICServerTests",
        dependencies: [
            "NICServer", "NICClient", "RPCClient", "RPCServer", "RPCInterfaces", "RPCWire", "Glue", "GlueAPI", "HypercallABI",
            "HuskHost", "HuskTestSupport"
        ]),
    // The NBD frontend against qemu-img and qemu-io, and hostile raw clients.
    .testTarget(
        name: "NBDTests",
        dependencies: [
            "NBDFrontend", "Glue", "HuskHost", "Hypercalls", "HypercallABI", "RPCSys", "HuskTestSupport",
            "Platform", "PlatformC", "BlockRemote"
        ])
]

let package = Package(
    name: "Husk",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "husk", targets: ["husk"]),
        .executable(name: "husk-rpcgen", targets: ["RPCGen"]),
        .executable(name: "husk-vm", targets: ["husk-vm"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0")
    ],
    targets: platform + hypercalls + glue + componentLibraryTargets + componentTargets + rpc + servers + hosting + vm + tools + tests,
    swiftLanguageModes: [.v6]
)

// The libFuzzer executable (Fuzz/rpc/main.swift) exists only when
// scripts/fuzz-rpc.sh sets HUSK_FUZZ=1: libFuzzer supplies its main(), so it
// links only with -sanitize=fuzzer and must not be part of a normal build.
if Context.environment["HUSK_FUZZ"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "rpc-fuzz", dependencies: ["RPCFuzzing"], path: "Fuzz/rpc",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
