/* e2port_private.h — prefix e2port: the port layer of libext2fs (the
 * io_manager over the glue's disks, the environment the library expects)
 * and the component's state, shared by its files (HUSK_PRIVATE). The
 * upstream headers come after config.h, which says what the C subset
 * offers (docs/fs.md, "Vendoring"). */
#ifndef E2PORT_PRIVATE_H
#define E2PORT_PRIVATE_H

#include "config.h"
#include <husk/glue.h>
#include <husk/hypercall.h>
#include "ext2fs/ext2_fs.h"
#include "ext2fs/ext2fs.h"

#define E2PORT_DEFAULT_DISK "disk0"
#define E2PORT_DEFAULT_NAME "fs0"
#define E2PORT_NAME_MAX     32

/* The io_manager over glue disks (e2port_io.c): its open takes a disk
 * name (husk/glue/disk.h); reads and writes become disk_transfer calls. */
HUSK_PRIVATE extern io_manager e2port_io_manager;

/* The counters of e2port_io_manager's channels, for the log at unmount. */
struct e2port_io_counts {
    uint64_t reads, writes, flushes;
    uint64_t bytes_read, bytes_written;
    uint64_t cache_hits; /* block reads served from the port's cache */
};
HUSK_PRIVATE void e2port_io_counts(io_channel channel, struct e2port_io_counts *out);

/* Defer single-block writes to the end of the batch (e2port_io.c): one
 * file write, under the file system's lock. _end writes them (consecutive
 * blocks as one request) and returns the first error. */
HUSK_PRIVATE void e2port_io_batch_begin(io_channel channel);
HUSK_PRIVATE errcode_t e2port_io_batch_end(io_channel channel);

/* A library error (errcode_t: an errno value or an EXT2_ET_* code) as text
 * for the log. */
HUSK_PRIVATE const char *e2port_strerror(errcode_t code);

/* The component's state: one mounted file system. */
struct e2port_softc {
    husk_ctx *ctx;
    const struct husk_hyp *hyp;
    char disk[E2PORT_NAME_MAX];
    char fsname[E2PORT_NAME_MAX]; /* the name in the glue's file-system registry */
    bool read_only;
    ext2_filsys fs;
    struct vfs_ops vfs;
    bool registered;
    /* libext2fs is not thread safe: every call into it for this file
     * system holds this lock (docs/fs.md, "Serialisation"). */
    kmutex_t lock;
    /* The name cache of e2port_vfs.c (under lock); NULL until first use. */
    void *dcache;
    /* The directory index of e2port_vfs.c (under lock): buckets, the
     * directory (0: none), its names, the directory of the last miss. */
    void *dindex;
    uint64_t dindex_dir;
    uint32_t dindex_count;
    uint64_t dindex_miss;
    bool dindex_off; /* during rename */
};

#define E2PORT_DINDEX_BUCKETS 4096u
#define E2PORT_DINDEX_MAX     65536u

#define E2PORT_DCACHE_SLOTS 8192u
#define E2PORT_DCACHE_NAME  55u

HUSK_PRIVATE int32_t e2port_read_params(struct e2port_softc *sc);

/* The file system's operations (e2port_vfs.c): fills sc->vfs. */
HUSK_PRIVATE void e2port_vfs_init(struct e2port_softc *sc);
/* Frees what the operations keep (the name cache); after the last call. */
HUSK_PRIVATE void e2port_vfs_fini(struct e2port_softc *sc);
/* A library error as a HUSK_E* code (EXT2_ET_* codes mapped, the rest EIO). */
HUSK_PRIVATE int e2port_errno(errcode_t err);

#endif
