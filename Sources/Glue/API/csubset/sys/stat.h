/*
 * <sys/stat.h> of the C subset (husk/glue/csubset.h), for vendored code
 * only: the file type and permission bits (Linux's values, which are the
 * ext2 on-disk ones). No struct stat and no calls: there are no host files.
 */
#ifndef HUSK_CSUBSET_SYS_STAT_H
#define HUSK_CSUBSET_SYS_STAT_H

#include <sys/types.h>

#define S_IFMT      0170000
#define S_IFSOCK    0140000
#define S_IFLNK     0120000
#define S_IFREG     0100000
#define S_IFBLK     0060000
#define S_IFDIR     0040000
#define S_IFCHR     0020000
#define S_IFIFO     0010000
#define S_ISUID     04000
#define S_ISGID     02000
#define S_ISVTX     01000
#define S_ISREG(m)  (((m)&S_IFMT) == S_IFREG)
#define S_ISDIR(m)  (((m)&S_IFMT) == S_IFDIR)
#define S_ISLNK(m)  (((m)&S_IFMT) == S_IFLNK)
#define S_ISCHR(m)  (((m)&S_IFMT) == S_IFCHR)
#define S_ISBLK(m)  (((m)&S_IFMT) == S_IFBLK)
#define S_ISFIFO(m) (((m)&S_IFMT) == S_IFIFO)
#define S_ISSOCK(m) (((m)&S_IFMT) == S_IFSOCK)

#endif
