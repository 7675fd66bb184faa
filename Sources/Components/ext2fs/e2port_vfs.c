/*
 * e2port_vfs.c — the mounted file system's operations (husk/glue/vfs.h)
 * over libext2fs, registered in the glue's file-system registry for the
 * fs server (docs/fs.md).
 *
 * Every op holds sc->lock for its whole duration: libext2fs is not thread
 * safe. Permission checks use the caller's credentials from the RPC layer
 * (glue_caller_cred), never anything in the arguments: owner, group
 * (primary or supplementary) or other bits, root's override (root needs
 * one x bit to execute a non-directory), and the sticky bit of a directory
 * for removal and renaming. A thread that serves no call acts as root.
 *
 * Errors are HUSK_E* codes, which equal errno values; those hypercall.h
 * does not name (ENOTDIR, EISDIR, ENOTEMPTY, ENAMETOOLONG, EMLINK, EFBIG)
 * come from the C subset's errno.h.
 *
 * What the component does not do (docs/fs.md, "Not done"): atime updates
 * (reads never write), the journal (libext2fs writes in place, as
 * fuse2fs does; a file system that needs journal recovery is refused
 * read-write), keeping an unlinked file alive while it is open.
 */
#include "e2port_private.h"
#include "ext2fs/ext2_err.h"
#include "ext2fs/ext3_extents.h"

#define E2PORT_MAX_LINKS 65000u

/* The caller. */
struct e2port_who {
    bool root;
    uint32_t uid, gid;
};

static struct e2port_who e2port_caller(void) {
    struct glue_cred c;
    struct e2port_who w = {.root = true, .uid = 0, .gid = 0};
    if (glue_caller_cred(&c) == HUSK_OK) {
        w.uid = c.uid;
        w.gid = c.gid;
        w.root = c.uid == 0;
    }
    return w;
}

static bool e2port_in_group(const struct e2port_who *w, uint32_t gid) {
    struct glue_cred c;
    if (glue_caller_cred(&c) != HUSK_OK) return true;
    return w->gid == gid || glue_caller_has_gid(gid);
}

/* A library error as a HUSK_E* code. */
int e2port_errno(errcode_t err) {
    if (err == 0) return HUSK_OK;
    if (err > 0 && err < 4096) return (int)err;
    switch (err) {
    case EXT2_ET_FILE_NOT_FOUND: return HUSK_ENOENT;
    case EXT2_ET_DIR_EXISTS:
    case EXT2_ET_FILE_EXISTS: return HUSK_EEXIST;
    case EXT2_ET_RO_FILSYS: return HUSK_EROFS;
    case EXT2_ET_NO_DIRECTORY: return ENOTDIR;
    case EXT2_ET_TOO_MANY_REFS: return EMLINK;
    case EXT2_ET_FILE_TOO_BIG: return EFBIG;
    case EXT2_ET_NO_MEMORY: return HUSK_ENOMEM;
    case EXT2_ET_DIR_NO_SPACE:
    case EXT2_ET_BLOCK_ALLOC_FAIL:
    case EXT2_ET_INODE_ALLOC_FAIL:
    case EXT2_ET_EA_NO_SPACE:
    case EXT2_ET_INLINE_DATA_NO_SPACE: return HUSK_ENOSPC;
    default: glue_logf(LOG_WARN, "libext2fs: %s (reported as EIO)", e2port_strerror(err)); return HUSK_EIO;
    }
}

static uint32_t e2port_ino32(uint64_t ino) { return ino > 0xffffffffu ? 0 : (uint32_t)ino; }

static int e2port_read(struct e2port_softc *sc, uint64_t ino, struct ext2_inode *inode) {
    uint32_t i = e2port_ino32(ino);
    if (i < 1 || i > sc->fs->super->s_inodes_count) return HUSK_ENOENT;
    int r = e2port_errno(ext2fs_read_inode(sc->fs, i, inode));
    if (r == HUSK_OK && inode->i_links_count == 0) return HUSK_ENOENT; /* freed */
    return r;
}

static int e2port_write(struct e2port_softc *sc, uint64_t ino, struct ext2_inode *inode) {
    return e2port_errno(ext2fs_write_inode(sc->fs, (ext2_ino_t)ino, inode));
}

static uint32_t e2port_now(void) { return (uint32_t)(glue_walltime_ns() / 1000000000ull); }

/* May the caller access the inode with `want` (4 read, 2 write, 1 exec)? */
static int e2port_may(const struct e2port_who *w, const struct ext2_inode *inode, unsigned want) {
    unsigned mode = inode->i_mode;
    if (w->root) {
        if ((want & 1) && !LINUX_S_ISDIR(mode) && (mode & 0111) == 0) return HUSK_EACCES;
        return HUSK_OK;
    }
    unsigned bits;
    if (inode_uid(*inode) == w->uid)
        bits = (mode >> 6) & 7;
    else if (e2port_in_group(w, inode_gid(*inode)))
        bits = (mode >> 3) & 7;
    else
        bits = mode & 7;
    return (bits & want) == want ? HUSK_OK : HUSK_EACCES;
}

static bool e2port_owner(const struct e2port_who *w, const struct ext2_inode *inode) {
    return w->root || inode_uid(*inode) == w->uid;
}

static void e2port_attr(struct e2port_softc *sc, uint64_t ino, const struct ext2_inode *inode, struct vfs_attr *out) {
    memset(out, 0, sizeof *out);
    out->ino = ino;
    out->mode = inode->i_mode;
    out->nlink = inode->i_links_count;
    out->uid = inode_uid(*inode);
    out->gid = inode_gid(*inode);
    out->size = EXT2_I_SIZE(inode);
    out->blocks = ext2fs_get_stat_i_blocks(sc->fs, (struct ext2_inode *)(uintptr_t)inode) /* only read */;
    out->atime_sec = inode->i_atime;
    out->mtime_sec = inode->i_mtime;
    out->ctime_sec = inode->i_ctime;
    out->blksize = sc->fs->blocksize;
    out->generation = inode->i_generation;
    if (LINUX_S_ISCHR(inode->i_mode) || LINUX_S_ISBLK(inode->i_mode)) out->rdev = inode->i_block[0];
}

/* One path component: 1..255 bytes, no '/'; `creating` also refuses "." and "..". */
static int e2port_name(const char *name, bool creating) {
    size_t n = strnlen(name, VFS_NAME_MAX + 1);
    if (n == 0) return HUSK_EINVAL;
    if (n > VFS_NAME_MAX) return ENAMETOOLONG;
    if (strchr(name, '/') != NULL) return HUSK_EINVAL;
    if (creating && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)) return HUSK_EINVAL;
    return HUSK_OK;
}

/* The directory `dir`, searchable by the caller (and writable if `write`). */
static int e2port_dir(struct e2port_softc *sc, const struct e2port_who *w, uint64_t dir, bool write,
                      struct ext2_inode *inode) {
    int r = e2port_read(sc, dir, inode);
    if (r != HUSK_OK) return r;
    if (!LINUX_S_ISDIR(inode->i_mode)) return ENOTDIR;
    if (write && sc->read_only) return HUSK_EROFS;
    return e2port_may(w, inode, write ? 3 : 1);
}

/* The name cache: (directory, name) -> inode for entries found, so that a
 * lookup does not scan the directory again (libext2fs scans it block by
 * block, verifying each block's checksum). Only this component changes
 * the file system while it is mounted and every operation holds sc->lock,
 * so the cache is exact if every change of a name drops it: an unlink
 * forgets its name, rename and rmdir (which may free a directory whose
 * inode number comes back) empty the cache. "." and ".." are not cached
 * (rename rewrites ".."), nor names too long for a slot, nor misses. */
struct e2port_dentry {
    uint64_t dir;
    uint32_t ino;
    uint8_t len; /* 0: empty */
    char name[E2PORT_DCACHE_NAME];
};

static uint32_t e2port_dhash(uint64_t dir, const char *name, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < 8; i++) h = (h ^ (uint8_t)(dir >> (8 * i))) * 16777619u;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h % E2PORT_DCACHE_SLOTS;
}

static struct e2port_dentry *e2port_dslot(struct e2port_softc *sc, uint64_t dir, const char *name, size_t len) {
    if (len == 0 || len > E2PORT_DCACHE_NAME || (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))))
        return NULL;
    if (sc->dcache == NULL && ext2fs_get_memzero(E2PORT_DCACHE_SLOTS * sizeof(struct e2port_dentry), &sc->dcache) != 0)
        return NULL;
    return &((struct e2port_dentry *)sc->dcache)[e2port_dhash(dir, name, len)];
}

/* The directory index: every name of one directory (the last one looked
 * up twice in a row without a name-cache hit), so that lookups there,
 * misses included, need no scan: create checks that its name is new, and
 * FUSE looks a name up before creating it. Built by one walk of the
 * directory; kept exact by create, link and unlink (which insert and
 * remove), dropped by mkdir and symlink (after libext2fs added the name)
 * and by rename and rmdir (with the name cache). */
struct e2port_dnode {
    struct e2port_dnode *next;
    uint32_t ino;
    uint8_t len;
    char name[];
};

static uint32_t e2port_nhash(const char *name, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h % E2PORT_DINDEX_BUCKETS;
}

static void e2port_dindex_drop(struct e2port_softc *sc) {
    struct e2port_dnode **b = sc->dindex;
    if (b == NULL) return;
    for (uint32_t i = 0; i < E2PORT_DINDEX_BUCKETS; i++) {
        while (b[i] != NULL) {
            struct e2port_dnode *n = b[i];
            b[i] = n->next;
            ext2fs_free_mem(&n);
        }
    }
    sc->dindex_dir = 0;
    sc->dindex_count = 0;
}

static bool e2port_dot(const char *name, size_t len) {
    return name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'));
}

/* The node of `name` in the index, and where its link is. */
static struct e2port_dnode **e2port_dindex_find(struct e2port_softc *sc, const char *name, size_t len) {
    struct e2port_dnode **p = &((struct e2port_dnode **)sc->dindex)[e2port_nhash(name, len)];
    while (*p != NULL && !((*p)->len == len && memcmp((*p)->name, name, len) == 0)) p = &(*p)->next;
    return p;
}

/* Add or update `name` in the index of `dir` (if that is the indexed one). */
static void e2port_dindex_put(struct e2port_softc *sc, uint64_t dir, const char *name, size_t len, ext2_ino_t ino) {
    if (sc->dindex_dir != dir || sc->dindex_dir == 0 || e2port_dot(name, len)) return;
    struct e2port_dnode **p = e2port_dindex_find(sc, name, len);
    if (*p != NULL) {
        (*p)->ino = ino;
        return;
    }
    struct e2port_dnode *n;
    if (sc->dindex_count >= E2PORT_DINDEX_MAX || ext2fs_get_mem(sizeof *n + len, &n) != 0) {
        e2port_dindex_drop(sc); /* an index that misses a name would be wrong */
        return;
    }
    n->next = NULL;
    n->ino = ino;
    n->len = (uint8_t)len;
    memcpy(n->name, name, len);
    *p = n;
    sc->dindex_count++;
}

static void e2port_dindex_remove(struct e2port_softc *sc, uint64_t dir, const char *name, size_t len) {
    if (sc->dindex_dir != dir || sc->dindex_dir == 0) return;
    struct e2port_dnode **p = e2port_dindex_find(sc, name, len);
    if (*p == NULL) return;
    struct e2port_dnode *n = *p;
    *p = n->next;
    ext2fs_free_mem(&n);
    sc->dindex_count--;
}

static int e2port_dindex_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize, char *buf,
                            void *priv) {
    struct e2port_softc *sc = priv;
    size_t len = (size_t)ext2fs_dirent_name_len(d);
    if (d->inode == 0 || len == 0) return 0;
    e2port_dindex_put(sc, sc->dindex_dir, d->name, len, d->inode);
    return sc->dindex_dir == 0 ? DIRENT_ABORT : 0;
}

/* Index `dir`: every name it holds (true), or no index (false). */
static bool e2port_dindex_build(struct e2port_softc *sc, uint64_t dir) {
    e2port_dindex_drop(sc);
    if (sc->dindex == NULL &&
        ext2fs_get_memzero(E2PORT_DINDEX_BUCKETS * sizeof(struct e2port_dnode *), &sc->dindex) != 0)
        return false;
    sc->dindex_dir = dir;
    errcode_t err = ext2fs_dir_iterate2(sc->fs, (ext2_ino_t)dir, 0, NULL, e2port_dindex_cb, sc);
    if (err != 0 || sc->dindex_dir != dir) {
        e2port_dindex_drop(sc);
        return false;
    }
    return true;
}

/* Drop (dir, name) from the name cache: call before the name goes away. */
static void e2port_dforget(struct e2port_softc *sc, uint64_t dir, const char *name) {
    size_t len = strlen(name);
    e2port_dindex_remove(sc, dir, name, len);
    struct e2port_dentry *d = e2port_dslot(sc, dir, name, len);
    if (d != NULL && d->len == len && d->dir == dir && memcmp(d->name, name, len) == 0) d->len = 0;
}

/* Empty the name cache. */
static void e2port_dclear(struct e2port_softc *sc) {
    e2port_dindex_drop(sc);
    sc->dindex_miss = 0;
    if (sc->dcache != NULL) memset(sc->dcache, 0, E2PORT_DCACHE_SLOTS * sizeof(struct e2port_dentry));
}

/* Remember (dir, name) -> ino: a name this component just made. */
static void e2port_dremember(struct e2port_softc *sc, uint64_t dir, const char *name, ext2_ino_t ino) {
    size_t len = strlen(name);
    e2port_dindex_put(sc, dir, name, len, ino);
    struct e2port_dentry *d = e2port_dslot(sc, dir, name, len);
    if (d == NULL) return;
    d->dir = dir;
    d->ino = ino;
    d->len = (uint8_t)len;
    memcpy(d->name, name, len);
}

void e2port_vfs_fini(struct e2port_softc *sc) {
    if (sc->dcache != NULL) ext2fs_free_mem(&sc->dcache);
    e2port_dindex_drop(sc);
    if (sc->dindex != NULL) ext2fs_free_mem(&sc->dindex);
}

static int e2port_lookup_ino(struct e2port_softc *sc, uint64_t dir, const char *name, ext2_ino_t *ino) {
    size_t len = strlen(name);
    struct e2port_dentry *d = e2port_dslot(sc, dir, name, len);
    if (d != NULL && d->len == len && d->dir == dir && memcmp(d->name, name, len) == 0) {
        *ino = d->ino;
        return HUSK_OK;
    }
    if (len > 0 && !e2port_dot(name, len) && !sc->dindex_off) {
        /* A second miss in a row in the same directory indexes it. */
        bool indexed = sc->dindex_dir == dir && dir != 0;
        if (!indexed && sc->dindex_miss == dir) indexed = e2port_dindex_build(sc, dir);
        sc->dindex_miss = dir;
        if (indexed) {
            struct e2port_dnode *n = *e2port_dindex_find(sc, name, len);
            if (n == NULL) return HUSK_ENOENT;
            *ino = n->ino;
            e2port_dremember(sc, dir, name, *ino);
            return HUSK_OK;
        }
    }
    int r = e2port_errno(ext2fs_lookup(sc->fs, (ext2_ino_t)dir, name, (int)len, NULL, ino));
    if (r == HUSK_OK) e2port_dremember(sc, dir, name, *ino);
    return r;
}

/* The sticky bit: in such a directory only the owner of the entry or of
 * the directory (or root) removes or renames it. */
static int e2port_sticky(const struct e2port_who *w, const struct ext2_inode *dir, const struct ext2_inode *victim) {
    if (!(dir->i_mode & LINUX_S_ISVTX) || w->root) return HUSK_OK;
    if (inode_uid(*dir) == w->uid || inode_uid(*victim) == w->uid) return HUSK_OK;
    return HUSK_EPERM;
}

static int e2port_ftype(unsigned mode) {
    switch (mode & LINUX_S_IFMT) {
    case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
    case LINUX_S_IFDIR: return EXT2_FT_DIR;
    case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
    case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
    case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
    case LINUX_S_IFIFO: return EXT2_FT_FIFO;
    case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
    default: return EXT2_FT_UNKNOWN;
    }
}

/* ext2fs_link, growing the directory by a block when it is full. */
static errcode_t e2port_link(struct e2port_softc *sc, uint64_t dir, const char *name, ext2_ino_t ino, int ftype) {
    errcode_t err = ext2fs_link(sc->fs, (ext2_ino_t)dir, name, ino, ftype);
    if (err == EXT2_ET_DIR_NO_SPACE) {
        err = ext2fs_expand_dir(sc->fs, (ext2_ino_t)dir);
        if (!err) err = ext2fs_link(sc->fs, (ext2_ino_t)dir, name, ino, ftype);
    }
    return err;
}

static void e2port_set_owner(struct ext2_inode *inode, uint32_t uid, uint32_t gid) {
    inode->i_uid = (uint16_t)uid;
    ext2fs_set_i_uid_high(*inode, uid >> 16);
    inode->i_gid = (uint16_t)gid;
    ext2fs_set_i_gid_high(*inode, gid >> 16);
}

/* Owner of a new entry in `parent`: the caller, with the directory's group
 * if it has the setgid bit (and then a new directory inherits the bit). */
static void e2port_new_owner(const struct e2port_who *w, const struct ext2_inode *parent, struct ext2_inode *inode) {
    uint32_t gid = (parent->i_mode & LINUX_S_ISGID) ? inode_gid(*parent) : w->gid;
    if ((parent->i_mode & LINUX_S_ISGID) && LINUX_S_ISDIR(inode->i_mode)) inode->i_mode |= LINUX_S_ISGID;
    e2port_set_owner(inode, w->uid, gid);
}

/* Give an inode whose last link is gone back: its blocks, then itself. */
static int e2port_release(struct e2port_softc *sc, ext2_ino_t ino, struct ext2_inode *inode) {
    bool dir = LINUX_S_ISDIR(inode->i_mode);
    inode->i_links_count = 0;
    inode->i_dtime = e2port_now();
    if (ext2fs_inode_has_valid_blocks2(sc->fs, inode) || (inode->i_flags & EXT4_INLINE_DATA_FL)) {
        errcode_t err = ext2fs_punch(sc->fs, ino, inode, NULL, 0, ~0ULL);
        if (err) return e2port_errno(err);
    }
    int r = e2port_write(sc, ino, inode);
    if (r != HUSK_OK) return r;
    ext2fs_inode_alloc_stats2(sc->fs, ino, -1, dir ? 1 : 0);
    return HUSK_OK;
}

struct e2port_count {
    unsigned entries; /* other than . and .. */
};

static int e2port_count_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize, char *buf,
                           void *priv) {
    struct e2port_count *c = priv;
    int len = ext2fs_dirent_name_len(d);
    if (d->inode == 0) return 0;
    if ((len == 1 && d->name[0] == '.') || (len == 2 && d->name[0] == '.' && d->name[1] == '.')) return 0;
    c->entries++;
    return DIRENT_ABORT;
}

static int e2port_empty(struct e2port_softc *sc, ext2_ino_t dir, bool *empty) {
    struct e2port_count c = {0};
    errcode_t err = ext2fs_dir_iterate2(sc->fs, dir, 0, NULL, e2port_count_cb, &c);
    if (err) return e2port_errno(err);
    *empty = c.entries == 0;
    return HUSK_OK;
}

/* ---- the ops ---- */

static int e2port_op_lookup(void *priv, uint64_t dir, const char *name, struct vfs_attr *out) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode d, inode;
    int r = e2port_name(name, false);
    if (r != HUSK_OK) return r;
    mutex_enter(&sc->lock);
    ext2_ino_t ino = 0;
    if ((r = e2port_dir(sc, &w, dir, false, &d)) == HUSK_OK &&
        (r = e2port_lookup_ino(sc, dir, name, &ino)) == HUSK_OK && (r = e2port_read(sc, ino, &inode)) == HUSK_OK)
        e2port_attr(sc, ino, &inode, out);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_getattr(void *priv, uint64_t ino, struct vfs_attr *out) {
    struct e2port_softc *sc = priv;
    struct ext2_inode inode;
    mutex_enter(&sc->lock);
    int r = e2port_read(sc, ino, &inode);
    if (r == HUSK_OK) e2port_attr(sc, ino, &inode, out);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_truncate(struct e2port_softc *sc, uint64_t ino, struct ext2_inode *inode, uint64_t size) {
    ext2_file_t f;
    errcode_t err = ext2fs_file_open2(sc->fs, (ext2_ino_t)ino, inode, EXT2_FILE_WRITE, &f);
    if (err) return e2port_errno(err);
    err = ext2fs_file_set_size2(f, size);
    errcode_t err2 = ext2fs_file_close(f);
    if (err) return e2port_errno(err);
    if (err2) return e2port_errno(err2);
    return e2port_errno(ext2fs_read_inode(sc->fs, (ext2_ino_t)ino, inode));
}

static int e2port_op_setattr(void *priv, uint64_t ino, uint32_t valid, const struct vfs_attr *in,
                             struct vfs_attr *out) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode inode;
    mutex_enter(&sc->lock);
    int r = e2port_read(sc, ino, &inode);
    if (r == HUSK_OK && valid != 0 && sc->read_only) r = HUSK_EROFS;
    if (r == HUSK_OK && (valid & (VFS_SET_MODE | VFS_SET_ATIME | VFS_SET_MTIME)) && !e2port_owner(&w, &inode))
        r = HUSK_EPERM;
    if (r == HUSK_OK && (valid & VFS_SET_UID) && !w.root && in->uid != inode_uid(inode)) r = HUSK_EPERM;
    if (r == HUSK_OK && (valid & VFS_SET_GID) && !w.root && in->gid != inode_gid(inode) &&
        (inode_uid(inode) != w.uid || !e2port_in_group(&w, in->gid)))
        r = HUSK_EPERM;
    if (r == HUSK_OK && (valid & VFS_SET_SIZE)) {
        if (LINUX_S_ISDIR(inode.i_mode))
            r = EISDIR;
        else if (!LINUX_S_ISREG(inode.i_mode))
            r = HUSK_EINVAL;
        else
            r = e2port_may(&w, &inode, 2);
        if (r == HUSK_OK && in->size != EXT2_I_SIZE(&inode)) {
            r = e2port_truncate(sc, ino, &inode, in->size);
            if (r == HUSK_OK) inode.i_mtime = e2port_now();
        }
    }
    if (r == HUSK_OK && valid != 0) {
        if (valid & VFS_SET_MODE) {
            unsigned mode = in->mode & 07777;
            /* A non-root owner outside the file's group cannot keep setgid (chmod(2)). */
            if (!w.root && !e2port_in_group(&w, inode_gid(inode))) mode &= ~(unsigned)LINUX_S_ISGID;
            inode.i_mode = (uint16_t)((inode.i_mode & LINUX_S_IFMT) | mode);
        }
        if (valid & (VFS_SET_UID | VFS_SET_GID)) {
            uint32_t uid = (valid & VFS_SET_UID) ? in->uid : inode_uid(inode);
            uint32_t gid = (valid & VFS_SET_GID) ? in->gid : inode_gid(inode);
            /* chown(2) clears set-user-ID and set-group-ID of a non-directory. */
            if (!LINUX_S_ISDIR(inode.i_mode) && (uid != inode_uid(inode) || gid != inode_gid(inode)))
                inode.i_mode &= (uint16_t) ~(LINUX_S_ISUID | LINUX_S_ISGID);
            e2port_set_owner(&inode, uid, gid);
        }
        if (valid & VFS_SET_ATIME) inode.i_atime = (uint32_t)in->atime_sec;
        if (valid & VFS_SET_MTIME) inode.i_mtime = (uint32_t)in->mtime_sec;
        inode.i_ctime = e2port_now();
        r = e2port_write(sc, ino, &inode);
    }
    if (r == HUSK_OK) e2port_attr(sc, ino, &inode, out);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_open(void *priv, uint64_t ino, uint32_t access) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode inode;
    mutex_enter(&sc->lock);
    int r = e2port_read(sc, ino, &inode);
    if (r == HUSK_OK && (access & VFS_OPEN_WRITE)) {
        if (LINUX_S_ISDIR(inode.i_mode))
            r = EISDIR;
        else if (sc->read_only)
            r = HUSK_EROFS;
    }
    if (r == HUSK_OK) {
        unsigned want = ((access & VFS_OPEN_READ) ? 4u : 0u) | ((access & VFS_OPEN_WRITE) ? 2u : 0u);
        if (want != 0) r = e2port_may(&w, &inode, want);
    }
    mutex_exit(&sc->lock);
    return r;
}

/* Read or write through an ext2_file, in pieces that fit an unsigned int. */
static int e2port_io(struct e2port_softc *sc, uint64_t ino, bool write, uint64_t off, void *buf, uint64_t len,
                     uint64_t *done) {
    struct ext2_inode inode;
    *done = 0;
    int r = e2port_read(sc, ino, &inode);
    if (r != HUSK_OK) return r;
    if (LINUX_S_ISDIR(inode.i_mode)) return EISDIR;
    if (!LINUX_S_ISREG(inode.i_mode)) return HUSK_EINVAL;
    if (write && sc->read_only) return HUSK_EROFS;
    ext2_file_t f;
    if (write) e2port_io_batch_begin(sc->fs->io);
    errcode_t err = ext2fs_file_open2(sc->fs, (ext2_ino_t)ino, &inode, write ? EXT2_FILE_WRITE : 0, &f);
    if (err) {
        if (write) (void)e2port_io_batch_end(sc->fs->io);
        return e2port_errno(err);
    }
    err = ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL);
    uint8_t *p = buf;
    while (!err && *done < len) {
        uint64_t left = len - *done;
        unsigned int n = left > (1u << 30) ? (1u << 30) : (unsigned int)left, got = 0;
        err = write ? ext2fs_file_write(f, p + *done, n, &got) : ext2fs_file_read(f, p + *done, n, &got);
        *done += got;
        if (got == 0) break;
    }
    errcode_t err2 = ext2fs_file_close(f);
    if (!err) err = err2;
    if (!err && write && *done > 0) {
        err = ext2fs_read_inode(sc->fs, (ext2_ino_t)ino, &inode);
        if (!err) {
            inode.i_mtime = inode.i_ctime = e2port_now();
            /* A write by someone other than root clears set-user-ID and set-group-ID. */
            if (!e2port_caller().root) inode.i_mode &= (uint16_t) ~(LINUX_S_ISUID | LINUX_S_ISGID);
            err = ext2fs_write_inode(sc->fs, (ext2_ino_t)ino, &inode);
        }
    }
    if (write) {
        errcode_t err3 = e2port_io_batch_end(sc->fs->io);
        if (!err) err = err3;
    }
    return e2port_errno(err);
}

static int e2port_op_read(void *priv, uint64_t ino, uint64_t off, void *buf, uint64_t len, uint64_t *done) {
    struct e2port_softc *sc = priv;
    mutex_enter(&sc->lock);
    int r = e2port_io(sc, ino, false, off, buf, len, done);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_write(void *priv, uint64_t ino, uint64_t off, const void *buf, uint64_t len, uint64_t *done) {
    struct e2port_softc *sc = priv;
    mutex_enter(&sc->lock);
    /* e2port_io takes a non-const pointer for both directions; a write only reads it. */
    int r = e2port_io(sc, ino, true, off, (void *)(uintptr_t)buf, len, done);
    mutex_exit(&sc->lock);
    return r;
}

/* The checks every new entry needs: a valid name, a writable searchable
 * directory, no entry of that name yet. */
static int e2port_new_entry(struct e2port_softc *sc, const struct e2port_who *w, uint64_t dir, const char *name,
                            struct ext2_inode *parent) {
    int r = e2port_name(name, true);
    if (r != HUSK_OK) return r;
    if ((r = e2port_dir(sc, w, dir, true, parent)) != HUSK_OK) return r;
    ext2_ino_t existing;
    r = e2port_lookup_ino(sc, dir, name, &existing);
    if (r == HUSK_OK) return HUSK_EEXIST;
    return r == HUSK_ENOENT ? HUSK_OK : r;
}

static int e2port_op_create(void *priv, uint64_t dir, const char *name, uint32_t mode, struct vfs_attr *out) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode parent, inode;
    mutex_enter(&sc->lock);
    int r = e2port_new_entry(sc, &w, dir, name, &parent);
    ext2_ino_t ino = 0;
    if (r == HUSK_OK) r = e2port_errno(ext2fs_new_inode(sc->fs, (ext2_ino_t)dir, LINUX_S_IFREG | 0600, NULL, &ino));
    if (r == HUSK_OK) r = e2port_errno(e2port_link(sc, dir, name, ino, EXT2_FT_REG_FILE));
    if (r == HUSK_OK) {
        memset(&inode, 0, sizeof inode);
        inode.i_mode = (uint16_t)(LINUX_S_IFREG | (mode & 07777));
        e2port_new_owner(&w, &parent, &inode);
        inode.i_links_count = 1;
        inode.i_atime = inode.i_mtime = inode.i_ctime = e2port_now();
        if (ext2fs_has_feature_extents(sc->fs->super)) {
            /* An empty extent tree in i_block, as the kernel makes one. */
            struct ext3_extent_header *eh = (struct ext3_extent_header *)inode.i_block;
            inode.i_flags |= EXT4_EXTENTS_FL;
            eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
            eh->eh_entries = 0;
            eh->eh_depth = 0;
            eh->eh_max = ext2fs_cpu_to_le16((sizeof inode.i_block - sizeof *eh) / sizeof(struct ext3_extent));
        }
        r = e2port_errno(ext2fs_write_new_inode(sc->fs, ino, &inode));
        if (r == HUSK_OK) {
            ext2fs_inode_alloc_stats2(sc->fs, ino, +1, 0);
            e2port_dremember(sc, dir, name, ino);
            e2port_attr(sc, ino, &inode, out);
        } else {
            e2port_dforget(sc, dir, name);
            (void)ext2fs_unlink(sc->fs, (ext2_ino_t)dir, name, ino, 0);
        }
    }
    mutex_exit(&sc->lock);
    return r;
}

/* After ext2fs_mkdir or ext2fs_symlink made the entry: its inode gets the
 * caller as owner (and mode, for a directory). */
static int e2port_adopt(struct e2port_softc *sc, const struct e2port_who *w, uint64_t dir, const char *name,
                        const struct ext2_inode *parent, int32_t mode, struct vfs_attr *out) {
    ext2_ino_t ino;
    struct ext2_inode inode;
    int r = e2port_lookup_ino(sc, dir, name, &ino);
    if (r == HUSK_OK) r = e2port_read(sc, ino, &inode);
    if (r != HUSK_OK) return r;
    if (mode >= 0) inode.i_mode = (uint16_t)((inode.i_mode & LINUX_S_IFMT) | ((uint32_t)mode & 07777));
    e2port_new_owner(w, parent, &inode);
    inode.i_atime = inode.i_mtime = inode.i_ctime = e2port_now();
    r = e2port_write(sc, ino, &inode);
    if (r == HUSK_OK) e2port_attr(sc, ino, &inode, out);
    return r;
}

static int e2port_op_mkdir(void *priv, uint64_t dir, const char *name, uint32_t mode, struct vfs_attr *out) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode parent;
    mutex_enter(&sc->lock);
    int r = e2port_new_entry(sc, &w, dir, name, &parent);
    if (r == HUSK_OK && parent.i_links_count >= E2PORT_MAX_LINKS) r = EMLINK;
    if (r == HUSK_OK) {
        errcode_t err = ext2fs_mkdir(sc->fs, (ext2_ino_t)dir, 0, name);
        if (err == EXT2_ET_DIR_NO_SPACE) {
            err = ext2fs_expand_dir(sc->fs, (ext2_ino_t)dir);
            if (!err) err = ext2fs_mkdir(sc->fs, (ext2_ino_t)dir, 0, name);
        }
        if (sc->dindex_dir == dir) e2port_dindex_drop(sc); /* libext2fs added a name the index lacks */
        r = e2port_errno(err);
    }
    if (r == HUSK_OK) r = e2port_adopt(sc, &w, dir, name, &parent, (int32_t)(mode & 07777), out);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_symlink(void *priv, uint64_t dir, const char *name, const char *target, struct vfs_attr *out) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode parent;
    size_t tlen = strnlen(target, VFS_SYMLINK_MAX + 1);
    if (tlen == 0) return HUSK_ENOENT; /* as symlink(2) with an empty target */
    if (tlen > VFS_SYMLINK_MAX || tlen >= sc->fs->blocksize) return ENAMETOOLONG;
    mutex_enter(&sc->lock);
    int r = e2port_new_entry(sc, &w, dir, name, &parent);
    if (r == HUSK_OK) {
        /* ext2fs_symlink takes a non-const target; it only reads it. */
        char *t = (char *)(uintptr_t)target;
        errcode_t err = ext2fs_symlink(sc->fs, (ext2_ino_t)dir, 0, name, t);
        if (err == EXT2_ET_DIR_NO_SPACE) {
            err = ext2fs_expand_dir(sc->fs, (ext2_ino_t)dir);
            if (!err) err = ext2fs_symlink(sc->fs, (ext2_ino_t)dir, 0, name, t);
        }
        if (sc->dindex_dir == dir) e2port_dindex_drop(sc); /* libext2fs added a name the index lacks */
        r = e2port_errno(err);
    }
    if (r == HUSK_OK) r = e2port_adopt(sc, &w, dir, name, &parent, -1, out);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_link(void *priv, uint64_t ino, uint64_t dir, const char *name, struct vfs_attr *out) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode parent, inode;
    mutex_enter(&sc->lock);
    int r = e2port_read(sc, ino, &inode);
    if (r == HUSK_OK && LINUX_S_ISDIR(inode.i_mode)) r = HUSK_EPERM;
    if (r == HUSK_OK && inode.i_links_count >= E2PORT_MAX_LINKS) r = EMLINK;
    if (r == HUSK_OK) r = e2port_new_entry(sc, &w, dir, name, &parent);
    if (r == HUSK_OK) r = e2port_errno(e2port_link(sc, dir, name, (ext2_ino_t)ino, e2port_ftype(inode.i_mode)));
    if (r == HUSK_OK) {
        e2port_dremember(sc, dir, name, (ext2_ino_t)ino);
        inode.i_links_count++;
        inode.i_ctime = e2port_now();
        r = e2port_write(sc, ino, &inode);
        if (r == HUSK_OK) e2port_attr(sc, ino, &inode, out);
    }
    mutex_exit(&sc->lock);
    return r;
}

/* Remove the entry `name` (a directory if `isdir`) from `dir`. */
static int e2port_remove(struct e2port_softc *sc, uint64_t dir, const char *name, bool isdir) {
    struct e2port_who w = e2port_caller();
    struct ext2_inode parent, inode;
    ext2_ino_t ino;
    int r = e2port_name(name, false);
    if (r != HUSK_OK) return r;
    if (strcmp(name, ".") == 0) return HUSK_EINVAL;
    if (strcmp(name, "..") == 0) return isdir ? ENOTEMPTY : EISDIR;
    if ((r = e2port_dir(sc, &w, dir, true, &parent)) != HUSK_OK) return r;
    if ((r = e2port_lookup_ino(sc, dir, name, &ino)) != HUSK_OK) return r;
    if ((r = e2port_read(sc, ino, &inode)) != HUSK_OK) return r;
    if (isdir && !LINUX_S_ISDIR(inode.i_mode)) return ENOTDIR;
    if (!isdir && LINUX_S_ISDIR(inode.i_mode)) return EISDIR;
    if ((r = e2port_sticky(&w, &parent, &inode)) != HUSK_OK) return r;
    if (isdir) {
        bool empty;
        if (ino == VFS_ROOT_INO) return HUSK_EBUSY;
        if ((r = e2port_empty(sc, ino, &empty)) != HUSK_OK) return r;
        if (!empty) return ENOTEMPTY;
    }
    e2port_dforget(sc, dir, name);
    if (isdir) e2port_dclear(sc); /* its inode number may come back as another directory */
    if ((r = e2port_errno(ext2fs_unlink(sc->fs, (ext2_ino_t)dir, name, ino, 0))) != HUSK_OK) return r;
    uint32_t now = e2port_now();
    if (isdir) {
        if (parent.i_links_count > 2) parent.i_links_count--;
        r = e2port_release(sc, ino, &inode);
    } else if (--inode.i_links_count == 0) {
        r = e2port_release(sc, ino, &inode);
    } else {
        inode.i_ctime = now;
        r = e2port_write(sc, ino, &inode);
    }
    if (r != HUSK_OK) return r;
    /* Re-read: unlinking may have changed the directory's inode (its blocks). */
    if ((r = e2port_errno(ext2fs_read_inode(sc->fs, (ext2_ino_t)dir, &inode))) != HUSK_OK) return r;
    inode.i_links_count = parent.i_links_count;
    inode.i_mtime = inode.i_ctime = now;
    return e2port_write(sc, dir, &inode);
}

static int e2port_op_unlink(void *priv, uint64_t dir, const char *name) {
    struct e2port_softc *sc = priv;
    mutex_enter(&sc->lock);
    int r = e2port_remove(sc, dir, name, false);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_rmdir(void *priv, uint64_t dir, const char *name) {
    struct e2port_softc *sc = priv;
    mutex_enter(&sc->lock);
    int r = e2port_remove(sc, dir, name, true);
    mutex_exit(&sc->lock);
    return r;
}

struct e2port_dotdot {
    ext2_ino_t to;
};

static int e2port_dotdot_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize, char *buf,
                            void *priv) {
    struct e2port_dotdot *p = priv;
    if (d->inode != 0 && ext2fs_dirent_name_len(d) == 2 && d->name[0] == '.' && d->name[1] == '.') {
        d->inode = p->to;
        return DIRENT_CHANGED | DIRENT_ABORT;
    }
    return 0;
}

/* Is `dir` the directory `ancestor` or inside it? (Walks up through "..".) */
static int e2port_inside(struct e2port_softc *sc, ext2_ino_t dir, ext2_ino_t ancestor, bool *inside) {
    *inside = false;
    for (unsigned depth = 0; depth < 4096; depth++) {
        if (dir == ancestor) {
            *inside = true;
            return HUSK_OK;
        }
        if (dir == VFS_ROOT_INO) return HUSK_OK;
        ext2_ino_t up;
        int r = e2port_lookup_ino(sc, dir, "..", &up);
        if (r != HUSK_OK) return r;
        dir = up;
    }
    return HUSK_EIO; /* a loop: the file system is damaged */
}

static int e2port_rename(struct e2port_softc *sc, uint64_t sdir, const char *sname, uint64_t ddir, const char *dname) {
    struct e2port_who w = e2port_caller();
    struct ext2_inode sparent, dparent, src, dst;
    ext2_ino_t sino, dino = 0;
    int r;
    if ((r = e2port_name(sname, true)) != HUSK_OK || (r = e2port_name(dname, true)) != HUSK_OK) return r;
    if ((r = e2port_dir(sc, &w, sdir, true, &sparent)) != HUSK_OK) return r;
    if ((r = e2port_dir(sc, &w, ddir, true, &dparent)) != HUSK_OK) return r;
    if ((r = e2port_lookup_ino(sc, sdir, sname, &sino)) != HUSK_OK) return r;
    if ((r = e2port_read(sc, sino, &src)) != HUSK_OK) return r;
    if ((r = e2port_sticky(&w, &sparent, &src)) != HUSK_OK) return r;
    bool isdir = LINUX_S_ISDIR(src.i_mode);
    r = e2port_lookup_ino(sc, ddir, dname, &dino);
    if (r == HUSK_ENOENT)
        dino = 0;
    else if (r != HUSK_OK)
        return r;
    if (dino == sino) return HUSK_OK; /* the same file: nothing to do (rename(2)) */
    if (isdir && sdir != ddir) {
        bool inside;
        if ((r = e2port_inside(sc, (ext2_ino_t)ddir, sino, &inside)) != HUSK_OK) return r;
        if (inside) return HUSK_EINVAL;
        /* Moving a directory rewrites its "..": write permission on it. */
        if ((r = e2port_may(&w, &src, 2)) != HUSK_OK) return r;
        if (dino == 0 && dparent.i_links_count >= E2PORT_MAX_LINKS) return EMLINK;
    }
    if (dino != 0) {
        if ((r = e2port_read(sc, dino, &dst)) != HUSK_OK) return r;
        if ((r = e2port_sticky(&w, &dparent, &dst)) != HUSK_OK) return r;
        if (isdir && !LINUX_S_ISDIR(dst.i_mode)) return ENOTDIR;
        if (!isdir && LINUX_S_ISDIR(dst.i_mode)) return EISDIR;
        if (isdir) {
            bool empty;
            if ((r = e2port_empty(sc, dino, &empty)) != HUSK_OK) return r;
            if (!empty) return ENOTEMPTY;
        }
        if ((r = e2port_errno(ext2fs_unlink(sc->fs, (ext2_ino_t)ddir, dname, dino, 0))) != HUSK_OK) return r;
        if (isdir || --dst.i_links_count == 0) {
            if ((r = e2port_release(sc, dino, &dst)) != HUSK_OK) return r;
            if (isdir) dparent.i_links_count--; /* the replaced directory's ".." */
        } else {
            dst.i_ctime = e2port_now();
            if ((r = e2port_write(sc, dino, &dst)) != HUSK_OK) return r;
        }
    }
    if ((r = e2port_errno(e2port_link(sc, ddir, dname, sino, e2port_ftype(src.i_mode)))) != HUSK_OK) return r;
    if ((r = e2port_errno(ext2fs_unlink(sc->fs, (ext2_ino_t)sdir, sname, sino, 0))) != HUSK_OK) return r;
    uint32_t now = e2port_now();
    src.i_ctime = now;
    if ((r = e2port_write(sc, sino, &src)) != HUSK_OK) return r;
    int32_t sdelta = 0, ddelta = isdir && dino != 0 ? -1 : 0;
    if (isdir && sdir != ddir) {
        struct e2port_dotdot p = {.to = (ext2_ino_t)ddir};
        errcode_t err = ext2fs_dir_iterate2(sc->fs, sino, 0, NULL, e2port_dotdot_cb, &p);
        if (err) return e2port_errno(err);
        sdelta = -1;
        ddelta += 1;
    }
    /* Re-read both parents: linking and unlinking may have grown them. */
    struct ext2_inode p;
    if ((r = e2port_errno(ext2fs_read_inode(sc->fs, (ext2_ino_t)sdir, &p))) != HUSK_OK) return r;
    p.i_links_count = (uint16_t)((int32_t)p.i_links_count + sdelta + (sdir == ddir ? ddelta : 0));
    p.i_mtime = p.i_ctime = now;
    if ((r = e2port_write(sc, sdir, &p)) != HUSK_OK) return r;
    if (sdir != ddir) {
        if ((r = e2port_errno(ext2fs_read_inode(sc->fs, (ext2_ino_t)ddir, &p))) != HUSK_OK) return r;
        p.i_links_count = (uint16_t)((int32_t)p.i_links_count + ddelta);
        p.i_mtime = p.i_ctime = now;
        r = e2port_write(sc, ddir, &p);
    }
    return r;
}

static int e2port_op_rename(void *priv, uint64_t from_dir, const char *from, uint64_t to_dir, const char *to) {
    struct e2port_softc *sc = priv;
    mutex_enter(&sc->lock);
    e2port_dclear(sc); /* no index while names move (rename looks names up between its changes) */
    sc->dindex_off = true;
    int r = e2port_rename(sc, from_dir, from, to_dir, to);
    sc->dindex_off = false;
    /* Names moved, and a replaced directory's inode number may come back:
     * forget everything, including what rename's own lookups cached. */
    e2port_dclear(sc);
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_readlink(void *priv, uint64_t ino, char *buf, uint32_t cap, uint32_t *len) {
    struct e2port_softc *sc = priv;
    struct ext2_inode inode;
    mutex_enter(&sc->lock);
    int r = e2port_read(sc, ino, &inode);
    uint64_t size = r == HUSK_OK ? EXT2_I_SIZE(&inode) : 0;
    if (r == HUSK_OK && !LINUX_S_ISLNK(inode.i_mode)) r = HUSK_EINVAL;
    if (r == HUSK_OK && size > cap) r = ENAMETOOLONG;
    if (r == HUSK_OK) {
        if (ext2fs_is_fast_symlink(&inode)) {
            memcpy(buf, inode.i_block, size);
        } else if (inode.i_flags & EXT4_INLINE_DATA_FL) {
            char tmp[EXT4_MIN_INLINE_DATA_SIZE + 256];
            size_t got = 0;
            if (size > sizeof tmp)
                r = HUSK_EIO;
            else
                r = e2port_errno(ext2fs_inline_data_get(sc->fs, (ext2_ino_t)ino, &inode, tmp, &got));
            if (r == HUSK_OK) memcpy(buf, tmp, size);
        } else {
            uint64_t done = 0;
            ext2_file_t f;
            errcode_t err = ext2fs_file_open2(sc->fs, (ext2_ino_t)ino, &inode, 0, &f);
            if (!err) {
                unsigned int got = 0;
                err = ext2fs_file_read(f, buf, (unsigned int)size, &got);
                done = got;
                errcode_t err2 = ext2fs_file_close(f);
                if (!err) err = err2;
            }
            r = e2port_errno(err);
            if (r == HUSK_OK && done != size) r = HUSK_EIO;
        }
    }
    if (r == HUSK_OK) *len = (uint32_t)size;
    mutex_exit(&sc->lock);
    return r;
}

struct e2port_readdir {
    uint64_t cookie, index;
    uint8_t *buf;
    uint32_t cap, used;
    bool full;
};

static int e2port_readdir_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize, char *buf,
                             void *priv) {
    struct e2port_readdir *s = priv;
    if (d->inode == 0) return 0;
    uint64_t index = s->index++;
    if (index < s->cookie) return 0;
    unsigned len = (unsigned)ext2fs_dirent_name_len(d);
    if (s->used + VFS_DIRENT_HEADER + len > s->cap) {
        s->full = true;
        return DIRENT_ABORT;
    }
    static const uint8_t dt[] = {0, 8, 4, 2, 6, 1, 12, 10}; /* EXT2_FT_* to DT_* */
    int ft = ext2fs_dirent_file_type(d);
    uint8_t *p = s->buf + s->used;
    uint64_t ino = d->inode, next = index + 1;
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(ino >> (8 * i));
        p[8 + i] = (uint8_t)(next >> (8 * i));
    }
    p[16] = ft >= 0 && ft < 8 ? dt[ft] : 0;
    p[17] = (uint8_t)len;
    memcpy(p + VFS_DIRENT_HEADER, d->name, len);
    s->used += VFS_DIRENT_HEADER + len;
    return 0;
}

static int e2port_op_readdir(void *priv, uint64_t dir, uint64_t cookie, void *buf, uint32_t cap, uint32_t *used,
                             bool *eof) {
    struct e2port_softc *sc = priv;
    struct e2port_who w = e2port_caller();
    struct ext2_inode inode;
    mutex_enter(&sc->lock);
    int r = e2port_read(sc, dir, &inode);
    if (r == HUSK_OK && !LINUX_S_ISDIR(inode.i_mode)) r = ENOTDIR;
    if (r == HUSK_OK) r = e2port_may(&w, &inode, 4);
    struct e2port_readdir s = {.cookie = cookie, .buf = buf, .cap = cap};
    if (r == HUSK_OK) r = e2port_errno(ext2fs_dir_iterate2(sc->fs, (ext2_ino_t)dir, 0, NULL, e2port_readdir_cb, &s));
    if (r == HUSK_OK && s.full && s.used == 0) r = HUSK_EINVAL; /* cap below one record */
    if (r == HUSK_OK) {
        *used = s.used;
        *eof = !s.full;
    }
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_fsync(void *priv, uint64_t ino) {
    struct e2port_softc *sc = priv;
    mutex_enter(&sc->lock);
    int r = sc->read_only ? HUSK_OK : e2port_errno(ext2fs_flush2(sc->fs, 0));
    mutex_exit(&sc->lock);
    return r;
}

static int e2port_op_statfs(void *priv, struct vfs_statfs *out) {
    struct e2port_softc *sc = priv;
    mutex_enter(&sc->lock);
    struct ext2_super_block *s = sc->fs->super;
    memset(out, 0, sizeof *out);
    out->blocks = ext2fs_blocks_count(s);
    out->bfree = ext2fs_free_blocks_count(s);
    uint64_t reserved = ext2fs_r_blocks_count(s);
    out->bavail = out->bfree > reserved ? out->bfree - reserved : 0;
    out->files = s->s_inodes_count;
    out->ffree = s->s_free_inodes_count;
    out->bsize = sc->fs->blocksize;
    out->namemax = VFS_NAME_MAX;
    out->read_only = sc->read_only;
    mutex_exit(&sc->lock);
    return HUSK_OK;
}

void e2port_vfs_init(struct e2port_softc *sc) {
    struct vfs_ops *o = &sc->vfs;
    o->name = sc->fsname;
    o->priv = sc;
    o->read_only = sc->read_only;
    o->lookup = e2port_op_lookup;
    o->getattr = e2port_op_getattr;
    o->setattr = e2port_op_setattr;
    o->open = e2port_op_open;
    o->read = e2port_op_read;
    o->write = e2port_op_write;
    o->create = e2port_op_create;
    o->mkdir = e2port_op_mkdir;
    o->symlink = e2port_op_symlink;
    o->link = e2port_op_link;
    o->unlink = e2port_op_unlink;
    o->rmdir = e2port_op_rmdir;
    o->rename = e2port_op_rename;
    o->readlink = e2port_op_readlink;
    o->readdir = e2port_op_readdir;
    o->fsync = e2port_op_fsync;
    o->statfs = e2port_op_statfs;
}
