#if !HUSK_STATIC
    import ArgumentParser
    import Glibc
    import VMImage

    /// `husk vm image`: build (or find cached) the guest kernel and initramfs.
    struct VMImageCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "image",
            abstract: "Build the test guest's kernel and initramfs (cached by content) and print their paths.",
            discussion: """
                Downloads the current Debian kernel package and busybox-static with apt-get download, \
                unpacks them with dpkg -x, builds the static husk (scripts/build-static.sh into \
                $HUSK_STATIC_SCRATCH, default .build-static; or uses $HUSK_STATIC_BINARY) and packs an \
                initramfs with the VFIO, uio and virtio modules and the scenario /init. docs/vm-guest.md.
                Output lines: kernel PATH, initrd PATH, kernel-version VERSION.
                """)
        @Option(help: "Cache directory (downloads, unpacked packages, images).") var cache: String?
        @Option(help: "The husk package root (default: the one this husk was built from).") var packageRoot: String?

        static func defaultPackageRoot() -> String {
            // Sources/Tools/husk/VMImageCommand.swift -> the package root.
            var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
            parts.removeLast(4)
            return parts.joined(separator: "/")
        }

        func run() throws {
            let root = packageRoot ?? Self.defaultPackageRoot()
            let dir = cache ?? root + "/.build-vm"
            do {
                let a = try GuestImage.build(packageRoot: root, cacheDir: dir, progress: { printError("vm image: \($0)") })
                print("kernel \(a.kernel)")
                print("initrd \(a.initrd)")
                print("kernel-version \(a.kernelVersion)")
            } catch {
                printError("husk vm image: \(error)")
                throw ExitCode(1)
            }
        }
    }
#endif
