/*
 * ext2fs — an ext2/3/4 file system on a glue disk, through e2fsprogs'
 * libext2fs 1.47.0, vendored unchanged (ThirdPartyC/e2fsprogs; docs/fs.md).
 *
 * init reads the parameters (e2port_params.c), opens the disk named by
 * `disk` through the port's io_manager (e2port_io.c: the component never
 * opens a file), mounts the file system with ext2fs_open2, loading its
 * bitmaps, and registers its operations (e2port_vfs.c) in the glue's
 * file-system registry as `name`. A read-write mount marks the superblock
 * not clean (as the kernel does) until the unmount, so e2fsck checks a file
 * system whose server was killed. fini withdraws the operations (waiting
 * for calls inside them), writes back what is dirty (ext2fs_close2:
 * bitmaps, group descriptors, the superblock marked clean), flushes the
 * disk and frees everything. One instance per process (the state is a
 * static pointer).
 *
 * libext2fs is not thread safe: every call into it holds sc->lock.
 */
#include "husk_component_ext2fs.h"
#include "e2port_private.h"

static struct e2port_softc *e2port_sc;

static void e2port_release(struct e2port_softc *sc) {
    if (sc->lock.mtx_handle != 0) mutex_destroy(&sc->lock);
    e2port_vfs_fini(sc);
    kmem_free(sc, sizeof *sc);
}

static int32_t e2port_status(errcode_t err) {
    /* errno values pass through; library codes become EIO (the log says which). */
    if (err > 0 && err < 4096) return (int32_t)err;
    return HUSK_EIO;
}

static int32_t ext2fs_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    struct e2port_softc *sc = kmem_zalloc(sizeof *sc, KM_SLEEP);
    sc->ctx = ctx;
    sc->hyp = hyp;
    int32_t r = e2port_read_params(sc);
    if (r == HUSK_OK) r = mutex_init(&sc->lock, "ext2fs");
    if (r != HUSK_OK) {
        e2port_release(sc);
        return r;
    }
    int flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP | (sc->read_only ? 0 : EXT2_FLAG_RW);
    errcode_t err = ext2fs_open2(sc->disk, NULL, flags, 0, 0, e2port_io_manager, &sc->fs);
    if (err) {
        glue_logf(LOG_ERR, "cannot open an ext2/3/4 file system on disk '%s': %s", sc->disk, e2port_strerror(err));
        sc->fs = NULL;
        e2port_release(sc);
        return e2port_status(err);
    }
    struct ext2_super_block *s = sc->fs->super;
    if (!sc->read_only && ext2fs_has_feature_journal_needs_recovery(s)) {
        glue_logf(LOG_ERR,
                  "disk '%s': the journal needs recovery, which this server does not do: run e2fsck on the image, "
                  "or serve it read-only",
                  sc->disk);
        ext2fs_free(sc->fs);
        e2port_release(sc);
        return HUSK_EINVAL;
    }
    err = ext2fs_read_bitmaps(sc->fs);
    if (err) {
        glue_logf(LOG_ERR, "disk '%s': cannot read the allocation bitmaps: %s", sc->disk, e2port_strerror(err));
        ext2fs_free(sc->fs);
        e2port_release(sc);
        return e2port_status(err);
    }
    sc->fs->umask = 0; /* modes come from the client, which applies its umask */
    if (!sc->read_only) {
        s->s_state &= (uint16_t)~EXT2_VALID_FS;
        s->s_mnt_count++;
        s->s_mtime = (uint32_t)(glue_walltime_ns() / 1000000000ull);
        ext2fs_mark_super_dirty(sc->fs);
        err = ext2fs_flush2(sc->fs, 0);
        if (err) {
            glue_logf(LOG_ERR, "disk '%s': cannot write the superblock: %s", sc->disk, e2port_strerror(err));
            ext2fs_free(sc->fs);
            e2port_release(sc);
            return e2port_status(err);
        }
    }
    e2port_vfs_init(sc);
    r = glue_vfs_register(&sc->vfs);
    if (r != HUSK_OK) {
        glue_logf(LOG_ERR, "cannot register file system '%s': %s", sc->fsname, glue_strerror(r));
        (void)ext2fs_close2(sc->fs, 0);
        e2port_release(sc);
        return r;
    }
    sc->registered = true;
    glue_logf(
        LOG_INFO, "file system '%s' on disk '%s': ext%d, %llu blocks of %u bytes (%llu free), %u inodes (%u free)%s",
        sc->fsname, sc->disk,
        ext2fs_has_feature_extents(s) || ext2fs_has_feature_flex_bg(s) ? 4
        : ext2fs_has_feature_journal(s)                                ? 3
                                                                       : 2,
        (unsigned long long)ext2fs_blocks_count(s), sc->fs->blocksize, (unsigned long long)ext2fs_free_blocks_count(s),
        s->s_inodes_count, s->s_free_inodes_count, sc->read_only ? ", read-only" : "");
    e2port_sc = sc;
    return HUSK_OK;
}

static void ext2fs_fini(husk_ctx *ctx) {
    struct e2port_softc *sc = e2port_sc;
    e2port_sc = NULL;
    if (sc == NULL) return;
    if (sc->registered) glue_vfs_unregister(&sc->vfs);
    mutex_enter(&sc->lock);
    if (!sc->read_only) {
        sc->fs->super->s_state |= EXT2_VALID_FS;
        ext2fs_mark_super_dirty(sc->fs);
    }
    struct e2port_io_counts counts;
    e2port_io_counts(sc->fs->io, &counts);
    errcode_t err = ext2fs_close2(sc->fs, 0);
    if (err)
        glue_logf(LOG_ERR, "disk '%s': unmount failed: %s", sc->disk, e2port_strerror(err));
    else
        glue_logf(
            LOG_INFO,
            "disk '%s': unmounted (%llu reads, %llu bytes; %llu writes, %llu bytes; %llu flushes; %llu cache hits)",
            sc->disk, (unsigned long long)counts.reads, (unsigned long long)counts.bytes_read,
            (unsigned long long)counts.writes, (unsigned long long)counts.bytes_written,
            (unsigned long long)counts.flushes, (unsigned long long)counts.cache_hits);
    sc->fs = NULL;
    mutex_exit(&sc->lock);
    e2port_release(sc);
}

HUSK_COMPONENT(ext2fs) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "ext2fs",
    .description = "an ext2/3/4 file system on a glue disk (e2fsprogs' libext2fs)",
    .kind = HUSK_KIND_FILESYSTEM,
    .depends = NULL,
    .init = ext2fs_init,
    .run = NULL,
    .fini = ext2fs_fini,
};
