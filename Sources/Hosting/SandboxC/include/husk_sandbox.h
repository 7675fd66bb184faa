/* husk_sandbox.h — the C half of privilege separation for servers
 * (Sources/Hosting/Sandbox, docs/sandbox.md): RLIMIT_MEMLOCK, dropping to a numeric
 * uid/gid, no_new_privs, a libseccomp allow-list loaded with TSYNC, the
 * SIGSYS handler of trap mode, and the socket keeper. Host-only.
 *
 * Every function returns 0 (or a documented value) on success and -1 with
 * errno set on failure unless it says otherwise. None of them is
 * thread-safe against itself: a server calls them once, in order, from one
 * thread, after it has opened its devices and bound its sockets. */
#ifndef HUSK_SANDBOX_H
#define HUSK_SANDBOX_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- Resources and credentials ---- */

/* Raise RLIMIT_MEMLOCK (soft and hard) to at least `bytes` (UINT64_MAX:
 * unlimited). Never lowers it. Raising the hard limit needs
 * CAP_SYS_RESOURCE, so call it before husk_sb_drop_privileges. */
int husk_sb_raise_memlock(uint64_t bytes);

/* setgroups(0), setresgid(gid x3), setresuid(uid x3) (glibc applies each to
 * every thread of the process), then verify: real/effective/saved ids are the
 * targets, no supplementary groups, and — when uid != 0 — setresuid(0) and
 * setresgid(0) both fail. errno EPERM when a verification fails. */
int husk_sb_drop_privileges(uint32_t uid, uint32_t gid);

/* prctl(PR_SET_NO_NEW_PRIVS, 1) (per thread in the kernel, but inherited and
 * forced onto every thread by the TSYNC filter load below). */
int husk_sb_set_no_new_privs(void);
/* 1, 0, or -1. */
int husk_sb_get_no_new_privs(void);

/* ---- The seccomp filter (libseccomp) ---- */

#define HUSK_SB_MODE_ENOSYS 0 /* default action ERRNO(ENOSYS) */
#define HUSK_SB_MODE_TRAP   1 /* default action TRAP: the SIGSYS handler logs and returns ENOSYS */

/* An opaque filter under construction. */
struct husk_sb_filter;

/* A filter whose default action is given by mode. NULL (errno) on failure. */
struct husk_sb_filter *husk_sb_filter_new(int mode);
/* The syscall number of `name` on this architecture, or -1 when unknown. */
int husk_sb_syscall_number(const char *name);
/* Allow `name` unconditionally. -1 errno ENOENT for an unknown name. */
int husk_sb_filter_allow(struct husk_sb_filter *f, const char *name);
/* Allow `name` only when its first argument equals `value`. */
int husk_sb_filter_allow_arg0(struct husk_sb_filter *f, const char *name, uint64_t value);
/* Allow `name` only when (first argument & mask) == mask (e.g. clone with
 * CLONE_THREAD: threads yes, new processes no). */
int husk_sb_filter_allow_arg0_bits(struct husk_sb_filter *f, const char *name, uint64_t mask);
/* Answer `name` with -1/err without a trap (even in trap mode): for calls
 * whose failure is expected and handled, e.g. clone3 -> ENOSYS. */
int husk_sb_filter_errno(struct husk_sb_filter *f, const char *name, int err);
/* Load the filter with SCMP_FLTATR_CTL_TSYNC (every thread of the process)
 * and free it. In trap mode the SIGSYS handler is installed first. Needs
 * no_new_privs (or CAP_SYS_ADMIN). On failure the filter is freed too; when
 * TSYNC fails because a thread could not be synchronised, errno is ESRCH. */
int husk_sb_filter_load(struct husk_sb_filter *f);
/* Free a filter that will not be loaded. */
void husk_sb_filter_free(struct husk_sb_filter *f);

/* The raw syscall `nr` with up to three arguments: its return value, or
 * -errno. For self-tests of the filter. */
long husk_sb_raw_syscall(long nr, long a0, long a1, long a2);
/* fork(); the child _exit(0)s at once. Returns the child's pid (reaped) or
 * -errno. A sandboxed process gets -ENOSYS (clone without CLONE_THREAD). */
long husk_sb_try_fork(void);
/* pthread_create + pthread_join of an empty thread: 0 or the error number. */
int husk_sb_try_thread(void);

/* ---- The socket keeper ----
 * A server that dropped privileges may no longer remove its socket file (the
 * directory belongs to the user who started it). Before the drop it forks a
 * keeper: a process that closes every other descriptor, ignores SIGINT,
 * SIGTERM and SIGHUP, and waits on a pipe. When asked (husk_sb_keeper_remove)
 * it removes `path` if it is still the same file (device and inode as when
 * the keeper started) and exits. When the server dies without asking (end of
 * file on the pipe) it exits and leaves the file, as a crashed server would:
 * the next server replaces a stale socket. It keeps the server's original
 * credentials and has no filter; it makes only async-signal-safe calls. */
struct husk_sb_keeper {
    pid_t pid;
    int command_fd; /* write end (close-on-exec) */
    int ack_fd;     /* read end (close-on-exec) */
};
/* Start a keeper for `path` (which must exist). */
int husk_sb_keeper_start(const char *path, struct husk_sb_keeper *k);
/* Ask the keeper to remove the path now, wait for it to finish (and reap
 * it). Returns 0 if the keeper removed the file, 1 if there was nothing to
 * remove (already gone or a different file), -1 on error. */
int husk_sb_keeper_remove(struct husk_sb_keeper *k);

#endif
