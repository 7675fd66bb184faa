/*
 * husk/glue/vfs.h — a registry of mounted file systems, in the spirit of a
 * kernel's VFS switch: a file-system component (ext2fs) registers each file
 * system it mounts under a name with its operations; a server (the fs
 * server, docs/fs.md) finds it by name and calls them on its worker
 * threads, acting for the provider (objects it creates are its own).
 *
 * Files are named by inode number (VFS_ROOT_INO is the root); a consumer
 * keeps no provider state beyond numbers, like an NFS client's file
 * handles. Permission checks are the provider's, with the caller's identity
 * from husk/glue/cred.h (glue_caller_cred: the RPC call's kernel-given
 * credentials; no identity travels in arguments). A thread that serves no
 * call acts with full rights (the host's own use).
 *
 * Every op: [blocks: yes] [irq: no]; returns 0 or a HUSK_E* code (ENOENT,
 * EEXIST, ENOTEMPTY, EISDIR, ENOTDIR, EACCES, EPERM, ENAMETOOLONG, ENOSPC,
 * EROFS, EXDEV, EINVAL, EMLINK, EFBIG, EIO). Names are one path component:
 * 1..VFS_NAME_MAX bytes, no '/' and no NUL, never "." or ".." for the ops
 * that create or remove (EINVAL).
 */
#ifndef HUSK_GLUE_VFS_H
#define HUSK_GLUE_VFS_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFS_NAME_MAX    255u  /* bytes of one name */
#define VFS_ROOT_INO    2u    /* the root directory (ext2's) */
#define VFS_FS_NAME_MAX 31u   /* bytes of a registered name */
#define VFS_SYMLINK_MAX 4095u /* bytes of a symbolic link's target */

/* Attributes of an inode. Mode has the file type bits of <sys/stat.h>
 * (Linux's values). Times are seconds and nanoseconds since the epoch. */
struct vfs_attr {
    uint64_t ino;
    uint32_t mode, nlink, uid, gid;
    uint64_t size;
    uint64_t blocks; /* 512-byte units */
    int64_t atime_sec, mtime_sec, ctime_sec;
    uint32_t atime_nsec, mtime_nsec, ctime_nsec;
    uint32_t blksize;
    uint32_t rdev;
    uint32_t generation;
};

/* setattr's `valid` bits: which fields of the new attributes apply. */
#define VFS_SET_MODE  0x01u /* permission bits (07777) */
#define VFS_SET_UID   0x02u
#define VFS_SET_GID   0x04u
#define VFS_SET_SIZE  0x08u /* truncate or extend (a regular file) */
#define VFS_SET_ATIME 0x10u
#define VFS_SET_MTIME 0x20u

/* open's access modes (an access check; the provider keeps nothing). */
#define VFS_OPEN_READ  0x1u
#define VFS_OPEN_WRITE 0x2u

struct vfs_statfs {
    uint64_t blocks, bfree, bavail; /* in units of bsize */
    uint64_t files, ffree;
    uint32_t bsize, namemax;
    uint32_t read_only;
};

/* readdir fills buf with records, each: u64 ino, u64 next cookie, u8 type
 * (DT_* values: 1 fifo, 2 chr, 4 dir, 6 blk, 8 reg, 10 lnk, 12 sock, 0
 * unknown), u8 name length, name bytes (no NUL); packed, little endian. */
#define VFS_DIRENT_HEADER 18u

struct vfs_ops {
    const char *name; /* unique among registered file systems, 1..VFS_FS_NAME_MAX of [A-Za-z0-9_.-] */
    void *priv;       /* first argument of every op */
    uint32_t read_only;

    int (*lookup)(void *priv, uint64_t dir, const char *name, struct vfs_attr *out);
    int (*getattr)(void *priv, uint64_t ino, struct vfs_attr *out);
    /* Owner or root for mode and times, root for uid, owner (into a group
     * of the caller) or root for gid, write permission for size. */
    int (*setattr)(void *priv, uint64_t ino, uint32_t valid, const struct vfs_attr *in, struct vfs_attr *out);
    /* Check that the caller may open ino with VFS_OPEN_* access: EACCES,
     * EISDIR (write to a directory), EROFS. */
    int (*open)(void *priv, uint64_t ino, uint32_t access);
    /* Read up to len bytes at off; *done short at the end of the file. */
    int (*read)(void *priv, uint64_t ino, uint64_t off, void *buf, uint64_t len, uint64_t *done);
    int (*write)(void *priv, uint64_t ino, uint64_t off, const void *buf, uint64_t len, uint64_t *done);
    /* New entries: the caller's uid, its gid (or the directory's, if that
     * has the setgid bit), mode & 07777 (no umask: the client applies it). */
    int (*create)(void *priv, uint64_t dir, const char *name, uint32_t mode, struct vfs_attr *out);
    int (*mkdir)(void *priv, uint64_t dir, const char *name, uint32_t mode, struct vfs_attr *out);
    int (*symlink)(void *priv, uint64_t dir, const char *name, const char *target, struct vfs_attr *out);
    int (*link)(void *priv, uint64_t ino, uint64_t dir, const char *name, struct vfs_attr *out);
    int (*unlink)(void *priv, uint64_t dir, const char *name);
    int (*rmdir)(void *priv, uint64_t dir, const char *name);
    /* POSIX rename(2): replaces a file by a file, an empty directory by a
     * directory; EINVAL moving a directory under itself. */
    int (*rename)(void *priv, uint64_t from_dir, const char *from, uint64_t to_dir, const char *to);
    /* The target; *len bytes (no NUL); ENAMETOOLONG if cap is too small. */
    int (*readlink)(void *priv, uint64_t ino, char *buf, uint32_t cap, uint32_t *len);
    /* Records from cookie (0: the start) while they fit in cap bytes;
     * *used bytes filled; *eof when the directory ended. Needs read
     * permission on dir. */
    int (*readdir)(void *priv, uint64_t dir, uint64_t cookie, void *buf, uint32_t cap, uint32_t *used, bool *eof);
    /* Make everything written so far durable (the whole file system). */
    int (*fsync)(void *priv, uint64_t ino);
    int (*statfs)(void *priv, struct vfs_statfs *out);
};

/* [blocks: no] [irq: no] Offer a file system (the struct must stay valid
 * until unregistered). 0, HUSK_EINVAL (bad name, an op missing),
 * HUSK_EEXIST. */
int glue_vfs_register(const struct vfs_ops *ops);
/* [blocks: yes] [irq: no] Withdraw it: new calls fail with HUSK_ENODEV;
 * returns once no call is inside one of its ops. */
void glue_vfs_unregister(const struct vfs_ops *ops);

#ifdef __cplusplus
}
#endif

#endif
