/* sandbox.c — see husk_sandbox.h and docs/sandbox.md. */
#define _GNU_SOURCE
#include "husk_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- Resources and credentials ---- */

int husk_sb_raise_memlock(uint64_t bytes) {
    struct rlimit r;
    if (getrlimit(RLIMIT_MEMLOCK, &r) != 0) return -1;
    rlim_t want = bytes == UINT64_MAX ? RLIM_INFINITY : (rlim_t)bytes;
    int changed = 0;
    if (r.rlim_max != RLIM_INFINITY && (want == RLIM_INFINITY || r.rlim_max < want)) {
        r.rlim_max = want;
        changed = 1;
    }
    if (r.rlim_cur != RLIM_INFINITY && (want == RLIM_INFINITY || r.rlim_cur < want)) {
        r.rlim_cur = want;
        changed = 1;
    }
    if (!changed) return 0;
    return setrlimit(RLIMIT_MEMLOCK, &r);
}

int husk_sb_drop_privileges(uint32_t uid, uint32_t gid) {
    /* Groups first: once the uid changes, CAP_SETGID is gone. glibc runs each
     * of these on every thread of the process (its setxid broadcast). */
    if (setgroups(0, NULL) != 0) return -1;
    if (setresgid(gid, gid, gid) != 0) return -1;
    if (setresuid(uid, uid, uid) != 0) return -1;

    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) return -1;
    if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
        errno = EPERM;
        return -1;
    }
    if (getgroups(0, NULL) != 0) {
        errno = EPERM;
        return -1;
    }
    if (uid != 0) {
        /* Nothing may bring root back: these must fail. If one succeeded the
         * process is not safe to continue; the caller exits. */
        if (setresuid((uid_t)-1, 0, (uid_t)-1) == 0) {
            errno = EPERM;
            return -1;
        }
        if (setresgid((gid_t)-1, 0, (gid_t)-1) == 0) {
            errno = EPERM;
            return -1;
        }
        gid_t zero = 0;
        if (setgroups(1, &zero) == 0) {
            errno = EPERM;
            return -1;
        }
    }
    return 0;
}

int husk_sb_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int husk_sb_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }

/* ---- The seccomp filter ---- */

struct husk_sb_filter {
    scmp_filter_ctx ctx;
    uint32_t default_action;
    int mode;
};

/* Names for the SIGSYS handler, resolved before the filter is loaded (the
 * handler may not allocate). Written once, read from the handler only. */
#define HUSK_SB_MAX_NR 1024
static const char *sigsys_names[HUSK_SB_MAX_NR];

static void fill_sigsys_names(void) {
    static int done;
    if (done) return;
    done = 1;
    for (int nr = 0; nr < HUSK_SB_MAX_NR; nr++)
        sigsys_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr); /* kept for the process's life */
}

struct husk_sb_filter *husk_sb_filter_new(int mode) {
    if (mode != HUSK_SB_MODE_ENOSYS && mode != HUSK_SB_MODE_TRAP) {
        errno = EINVAL;
        return NULL;
    }
    struct husk_sb_filter *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->mode = mode;
    f->default_action = mode == HUSK_SB_MODE_TRAP ? SCMP_ACT_TRAP : SCMP_ACT_ERRNO(ENOSYS);
    f->ctx = seccomp_init(f->default_action);
    if (!f->ctx) {
        free(f);
        errno = ENOMEM;
        return NULL;
    }
    int r = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (r < 0) {
        seccomp_release(f->ctx);
        free(f);
        errno = -r;
        return NULL;
    }
    if (mode == HUSK_SB_MODE_TRAP) fill_sigsys_names();
    return f;
}

int husk_sb_syscall_number(const char *name) {
    int nr = seccomp_syscall_resolve_name(name);
    return nr == __NR_SCMP_ERROR ? -1 : nr;
}

static int rule(struct husk_sb_filter *f, uint32_t action, const char *name, unsigned count, struct scmp_arg_cmp cmp) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
        errno = ENOENT;
        return -1;
    }
    if (action == f->default_action && count == 0) return 0; /* libseccomp refuses a rule equal to the default */
    int r = count ? seccomp_rule_add(f->ctx, action, nr, 1, cmp) : seccomp_rule_add(f->ctx, action, nr, 0);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

static struct scmp_arg_cmp no_arg(void) {
    struct scmp_arg_cmp none;
    memset(&none, 0, sizeof none);
    return none;
}

int husk_sb_filter_allow(struct husk_sb_filter *f, const char *name) {
    return rule(f, SCMP_ACT_ALLOW, name, 0, no_arg());
}

int husk_sb_filter_allow_arg0(struct husk_sb_filter *f, const char *name, uint64_t value) {
    struct scmp_arg_cmp c = no_arg();
    c.arg = 0;
    c.op = SCMP_CMP_EQ;
    c.datum_a = value;
    return rule(f, SCMP_ACT_ALLOW, name, 1, c);
}

int husk_sb_filter_allow_arg0_bits(struct husk_sb_filter *f, const char *name, uint64_t mask) {
    struct scmp_arg_cmp c = no_arg();
    c.arg = 0;
    c.op = SCMP_CMP_MASKED_EQ;
    c.datum_a = mask;
    c.datum_b = mask;
    return rule(f, SCMP_ACT_ALLOW, name, 1, c);
}

int husk_sb_filter_errno(struct husk_sb_filter *f, const char *name, int err) {
    return rule(f, SCMP_ACT_ERRNO((uint32_t)err), name, 0, no_arg());
}

/* Async-signal-safe: write(2) only, no allocation, no stdio. */
static size_t put_str(char *buf, size_t n, size_t cap, const char *s) {
    while (*s && n < cap) buf[n++] = *s++;
    return n;
}

static size_t put_num(char *buf, size_t n, size_t cap, long v) {
    char tmp[24];
    size_t k = 0;
    unsigned long u = v < 0 ? (unsigned long)(-v) : (unsigned long)v;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u && k < sizeof tmp);
    if (v < 0 && n < cap) buf[n++] = '-';
    while (k && n < cap) buf[n++] = tmp[--k];
    return n;
}

static void sigsys_handler(int sig, siginfo_t *info, void *context) {
    (void)sig;
    int saved = errno;
    int nr = info->si_syscall;
    const char *name = nr >= 0 && nr < HUSK_SB_MAX_NR && sigsys_names[nr] ? sigsys_names[nr] : "?";
    char line[200];
    size_t n = 0;
    n = put_str(line, n, sizeof line, "husk-sandbox: blocked syscall ");
    n = put_str(line, n, sizeof line, name);
    n = put_str(line, n, sizeof line, " (");
    n = put_num(line, n, sizeof line, nr);
    n = put_str(line, n, sizeof line, ") in thread ");
    n = put_num(line, n, sizeof line, (long)syscall(SYS_gettid));
    n = put_str(line, n, sizeof line,
                ": answered ENOSYS; allow it in Sources/Hosting/Sandbox/AllowList.swift if the server needs it\n");
    ssize_t w = write(2, line, n);
    (void)w;
    /* The call was not executed; its return value is what the return
     * register holds when the handler returns. */
    ucontext_t *uc = context;
#if defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__aarch64__)
    uc->uc_mcontext.regs[0] = (unsigned long long)(long long)-ENOSYS;
#else
    (void)uc;
    _exit(128 + SIGSYS);
#endif
    errno = saved;
}

int husk_sb_filter_load(struct husk_sb_filter *f) {
    if (f->mode == HUSK_SB_MODE_TRAP) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = sigsys_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSYS, &sa, NULL) != 0) {
            husk_sb_filter_free(f);
            return -1;
        }
    }
    int r = seccomp_load(f->ctx);
    husk_sb_filter_free(f);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

void husk_sb_filter_free(struct husk_sb_filter *f) {
    if (!f) return;
    seccomp_release(f->ctx);
    free(f);
}

long husk_sb_raw_syscall(long nr, long a0, long a1, long a2) {
    long r = syscall(nr, a0, a1, a2);
    return r == -1 ? -errno : r;
}

long husk_sb_try_fork(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0) return -errno;
    int status;
    while (waitpid(p, &status, 0) < 0 && errno == EINTR) {}
    return p;
}

static void *empty_thread(void *arg) { return arg; }

int husk_sb_try_thread(void) {
    pthread_t t;
    int r = pthread_create(&t, NULL, empty_thread, NULL);
    if (r != 0) return r;
    return pthread_join(t, NULL);
}

/* ---- The socket keeper ---- */

static void close_all_but(int a, int b) {
    int lo = a < b ? a : b, hi = a < b ? b : a;
    /* close_range(2) (Linux 5.9); a loop where it is missing. */
    if (lo > 0 && syscall(SYS_close_range, 0u, (unsigned)(lo - 1), 0u) != 0) goto loop;
    if (hi - lo > 1 && syscall(SYS_close_range, (unsigned)(lo + 1), (unsigned)(hi - 1), 0u) != 0) goto loop;
    if (syscall(SYS_close_range, (unsigned)(hi + 1), ~0u, 0u) != 0) goto loop;
    return;
loop:;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 0; fd < max; fd++)
        if (fd != a && fd != b) close(fd);
}

int husk_sb_keeper_start(const char *path, struct husk_sb_keeper *k) {
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    int cmd[2], ack[2];
    if (pipe2(cmd, O_CLOEXEC) != 0) return -1;
    if (pipe2(ack, O_CLOEXEC) != 0) {
        close(cmd[0]);
        close(cmd[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(cmd[0]);
        close(cmd[1]);
        close(ack[0]);
        close(ack[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* The child of a multi-threaded process: async-signal-safe calls only. */
        int in = cmd[0], out = ack[1];
        close_all_but(in, out);
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigaction(SIGINT, &ign, NULL);
        sigaction(SIGTERM, &ign, NULL);
        sigaction(SIGHUP, &ign, NULL);
        sigaction(SIGPIPE, &ign, NULL);
        prctl(PR_SET_NAME, "husk-keeper", 0, 0, 0);
        char c = 0;
        ssize_t n;
        do {
            n = read(in, &c, 1);
        } while (n < 0 && errno == EINTR);
        /* End of file (the server died without asking): leave the file, as a
         * crashed server without a keeper would; the next server replaces a
         * stale socket. */
        if (n != 1) _exit(0);
        char result = '1';
        struct stat now;
        if (lstat(path, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino && unlink(path) == 0)
            result = '0';
        ssize_t w = write(out, &result, 1);
        (void)w;
        _exit(0);
    }
    close(cmd[0]);
    close(ack[1]);
    k->pid = pid;
    k->command_fd = cmd[1];
    k->ack_fd = ack[0];
    return 0;
}

int husk_sb_keeper_remove(struct husk_sb_keeper *k) {
    if (k->pid <= 0) {
        errno = ESRCH;
        return -1;
    }
    char c = 'r', result = 0;
    ssize_t n;
    do {
        n = write(k->command_fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) {
        do {
            n = read(k->ack_fd, &result, 1);
        } while (n < 0 && errno == EINTR);
    }
    int e = errno;
    close(k->command_fd);
    close(k->ack_fd);
    int status;
    while (waitpid(k->pid, &status, 0) < 0 && errno == EINTR) {}
    k->pid = 0;
    k->command_fd = k->ack_fd = -1;
    if (n != 1) {
        errno = n == 0 ? EPIPE : e;
        return -1;
    }
    return result == '0' ? 0 : 1;
}
