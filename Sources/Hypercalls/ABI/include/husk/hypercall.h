/*
 * husk/hypercall.h — the Husk hypercall ABI.
 *
 * This is the whole contract between a host (the thing that runs components:
 * Husk's Swift runtime on Linux, or a microkernel port) and a component (a C
 * unit: driver, file system, network stack). A component includes this header
 * and the glue headers, nothing else: no libc, no pthreads, no syscalls.
 *
 * Reading guide (ten minutes):
 *   1. Conventions: context, handles, error codes, call contexts.
 *   2. struct husk_hyp: the operation table, grouped by subsystem. Every slot
 *      says  [blocks: yes/no]  [irq: yes/no]  returns / fails.
 *   3. struct husk_component: what a component exports.
 *
 * Versioning. The table carries abi_major, abi_minor and size. Slots are only
 * ever appended; a minor bump appends slots or feature bits, a major bump is
 * an incompatible change. A component states the version it needs in its
 * descriptor; a host refuses a component whose major differs from its own or
 * whose minor is newer than its own, and names both versions in the error.
 * A component that can use an operation added after the version it requires
 * probes it with HUSK_HYP_HAS(hyp, slot), which checks the table's size and
 * that the slot is not NULL. Optional host capabilities (devices, DMA behind
 * an IOMMU, interrupt kinds, block I/O) are announced in `features`.
 *
 * Conventions.
 *   - ctx: every operation (but ctx_current) takes the calling component's
 *     context, the pointer the host passed to the component's init. Logs, panics and accounting
 *     name the component through it. Passing another component's ctx is a bug.
 *   - Types are fixed-width. Handles are opaque 64-bit values; 0 is never a
 *     valid handle. A stale or forged handle fails with HUSK_EBADF: it is
 *     never undefined behaviour.
 *   - Status: operations returning int32_t return HUSK_OK (0) or one of the
 *     positive HUSK_E* codes below. Predicates (…_owned, cancel_pending)
 *     return 1 or 0.
 *   - Misuse that a kernel would treat as a bug (unlocking a mutex the caller
 *     does not hold, destroying a held mutex, waiting on a condition variable
 *     without holding its mutex) panics the component: see `panic`.
 *
 * Call contexts.
 *   thread: a thread created with thread_create, or the host thread that
 *           runs init/fini/run. May block.
 *   irq:    an interrupt handler or a block I/O completion callback. Runs on a
 *           dedicated host thread; may take mutexes for short critical
 *           sections and call the operations marked [irq: yes]; must not sleep,
 *           wait on a condition variable, join a thread or do synchronous I/O.
 *
 * Cancellation. The host can set a per-thread cancellation flag (the RPC layer
 * does this when a client cancels a call). Sleeps and condition-variable waits
 * of that thread then return HUSK_EINTR, now or as soon as they start, until
 * the component calls cancel_clear. Mutex and rwlock acquisition is never
 * interruptible. Block I/O already submitted completes normally; its buffer
 * stays owned by the host until its completion has run.
 */
#ifndef HUSK_HYPERCALL_H
#define HUSK_HYPERCALL_H

#include <stdint.h> /* freestanding: provided by the compiler */

#ifdef __cplusplus
extern "C" {
#endif

#define HUSK_ABI_MAJOR 1
#define HUSK_ABI_MINOR 1

/* Exit status of a server process ended by a component panic. */
#define HUSK_PANIC_EXIT_STATUS 86

/* ---- Error codes. Values are fixed by this header. They equal Linux's errno
 * numbers so that the Linux host translates for free; hosts on other systems
 * translate their own codes to these. */
#define HUSK_OK        0
#define HUSK_EPERM     1   /* operation not permitted to this component */
#define HUSK_ENOENT    2   /* no such device, file, key or index */
#define HUSK_EINTR     4   /* cancelled: the calling thread's cancellation flag is set */
#define HUSK_EIO       5   /* device or host I/O error */
#define HUSK_EBADF     9   /* invalid, stale or foreign handle */
#define HUSK_EAGAIN    11  /* resource temporarily exhausted, retry later */
#define HUSK_ENOMEM    12  /* out of memory, address space or DMA space */
#define HUSK_EACCES    13  /* host refused access (permissions) */
#define HUSK_EFAULT    14  /* pointer argument NULL or outside what the host can reach */
#define HUSK_EBUSY     16  /* held or in use (trylock failed, device already open) */
#define HUSK_EEXIST    17  /* already exists / already established */
#define HUSK_ENODEV    19  /* this backend has no such device or capability */
#define HUSK_EINVAL    22  /* bad argument: zero/absurd size, misalignment, range */
#define HUSK_ENOSPC    28  /* no space left on the backing store */
#define HUSK_EROFS     30  /* write to a read-only block device */
#define HUSK_ERANGE    34  /* output buffer too small */
#define HUSK_EDEADLK   35  /* would deadlock (joining oneself) */
#define HUSK_ENOSYS    38  /* operation not implemented by this host */
#define HUSK_ENOTSUP   95  /* not supported in this mode (e.g. mapping a sim BAR) */
#define HUSK_ETIMEDOUT 110 /* timed wait reached its deadline */

/* Network errors: no hypercall returns them. Network stacks report them
 * through the glue's socket registry (husk/glue/socket.h), and the net
 * server passes them on to its clients unchanged. */
#define HUSK_EPIPE         32  /* send on a connection that is closed for sending or was reset */
#define HUSK_EDESTADDRREQ  89  /* send on an unconnected socket without an address */
#define HUSK_EMSGSIZE      90  /* datagram larger than the stack sends */
#define HUSK_ENOPROTOOPT   92  /* socket option not supported */
#define HUSK_EAFNOSUPPORT  97  /* address family not supported */
#define HUSK_EADDRINUSE    98  /* local address (port) already in use */
#define HUSK_EADDRNOTAVAIL 99  /* local address is not the stack's */
#define HUSK_ENETUNREACH   101 /* no route to the network */
#define HUSK_ECONNABORTED  103 /* connection aborted by the stack */
#define HUSK_ECONNRESET    104 /* connection reset by the peer */
#define HUSK_ENOBUFS       105 /* the stack is out of buffers */
#define HUSK_EISCONN       106 /* already connected */
#define HUSK_ENOTCONN      107 /* not connected */
#define HUSK_ECONNREFUSED  111 /* the peer refused the connection */
#define HUSK_EHOSTUNREACH  113 /* no route to the host */
#define HUSK_EALREADY      114 /* a connect is already in progress */
#define HUSK_EINPROGRESS   115 /* a non-blocking connect has started */

/* The symbolic name of a code above ("EINVAL"; "OK" for 0), or NULL for a
 * value that is not one of them. The one table of these names for C: the
 * glue's glue_strerror and the conformance suite use it, and so does the
 * Swift glue. */
static inline const char *husk_error_name(int32_t code) {
    switch (code) {
    case HUSK_OK: return "OK";
    case HUSK_EPERM: return "EPERM";
    case HUSK_ENOENT: return "ENOENT";
    case HUSK_EINTR: return "EINTR";
    case HUSK_EIO: return "EIO";
    case HUSK_EBADF: return "EBADF";
    case HUSK_EAGAIN: return "EAGAIN";
    case HUSK_ENOMEM: return "ENOMEM";
    case HUSK_EACCES: return "EACCES";
    case HUSK_EFAULT: return "EFAULT";
    case HUSK_EBUSY: return "EBUSY";
    case HUSK_EEXIST: return "EEXIST";
    case HUSK_ENODEV: return "ENODEV";
    case HUSK_EINVAL: return "EINVAL";
    case HUSK_ENOSPC: return "ENOSPC";
    case HUSK_EROFS: return "EROFS";
    case HUSK_ERANGE: return "ERANGE";
    case HUSK_EDEADLK: return "EDEADLK";
    case HUSK_ENOSYS: return "ENOSYS";
    case HUSK_ENOTSUP: return "ENOTSUP";
    case HUSK_ETIMEDOUT: return "ETIMEDOUT";
    case HUSK_EPIPE: return "EPIPE";
    case HUSK_EDESTADDRREQ: return "EDESTADDRREQ";
    case HUSK_EMSGSIZE: return "EMSGSIZE";
    case HUSK_ENOPROTOOPT: return "ENOPROTOOPT";
    case HUSK_EAFNOSUPPORT: return "EAFNOSUPPORT";
    case HUSK_EADDRINUSE: return "EADDRINUSE";
    case HUSK_EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case HUSK_ENETUNREACH: return "ENETUNREACH";
    case HUSK_ECONNABORTED: return "ECONNABORTED";
    case HUSK_ECONNRESET: return "ECONNRESET";
    case HUSK_ENOBUFS: return "ENOBUFS";
    case HUSK_EISCONN: return "EISCONN";
    case HUSK_ENOTCONN: return "ENOTCONN";
    case HUSK_ECONNREFUSED: return "ECONNREFUSED";
    case HUSK_EHOSTUNREACH: return "EHOSTUNREACH";
    case HUSK_EALREADY: return "EALREADY";
    case HUSK_EINPROGRESS: return "EINPROGRESS";
    default: return (const char *)0;
    }
}

typedef uint64_t husk_handle;     /* 0 is never valid */
typedef struct husk_ctx husk_ctx; /* opaque, owned by the host */

/* ---- Feature bits (struct husk_hyp.features). */
#define HUSK_FEAT_PCI         (1ull << 0) /* pci_enumerate/dev_open/cfg_*: devices exist */
#define HUSK_FEAT_BAR_MAP     (1ull << 1) /* bar_map can map MMIO BARs into the CPU */
#define HUSK_FEAT_IRQ_INTX    (1ull << 2)
#define HUSK_FEAT_IRQ_MSI     (1ull << 3)
#define HUSK_FEAT_IRQ_MSIX    (1ull << 4)
#define HUSK_FEAT_DMA         (1ull << 5) /* dma_alloc gives device-reachable memory */
#define HUSK_FEAT_DMA_IOMMU   (1ull << 6) /* bus addresses differ from CPU addresses */
#define HUSK_FEAT_BLK         (1ull << 7) /* blk_* on host files and block devices */
#define HUSK_FEAT_DEV_RELEASE (1ull << 8) /* host may ask for a device back (dev_on_release) */
#define HUSK_FEAT_FRAME       (1ull << 9) /* frame_* on host frame devices (TAP); ABI 1.1 */

/* ---- Log levels. */
#define HUSK_LOG_ERROR 0
#define HUSK_LOG_WARN  1
#define HUSK_LOG_INFO  2
#define HUSK_LOG_DEBUG 3

/* ---- page_map protection bits. */
#define HUSK_PROT_READ  1u
#define HUSK_PROT_WRITE 2u

/* ---- thread_create flags. */
#define HUSK_THREAD_JOINABLE 1u /* without it the thread is detached */

/* ---- rw_enter modes. */
#define HUSK_RW_READER 1u
#define HUSK_RW_WRITER 2u

/* ---- Interrupt kinds (irq_alloc: a mask of acceptable kinds in, the chosen
 * one out; the host prefers MSI-X, then MSI, then INTx). */
#define HUSK_IRQ_INTX 1u
#define HUSK_IRQ_MSI  2u
#define HUSK_IRQ_MSIX 4u

/* ---- BAR flags (husk_bar_info.flags). */
#define HUSK_BAR_MMIO     1u
#define HUSK_BAR_PIO      2u
#define HUSK_BAR_MAPPABLE 4u /* bar_map will succeed */
#define HUSK_BAR_64BIT    8u
#define HUSK_BAR_PREFETCH 16u

/* ---- blk_open flags. */
#define HUSK_BLK_RDONLY 0u
#define HUSK_BLK_RDWR   1u
#define HUSK_BLK_DIRECT 2u /* bypass the host page cache where the host can */

/* ---- blk request operations. */
#define HUSK_BLK_READ  1u
#define HUSK_BLK_WRITE 2u
#define HUSK_BLK_FLUSH 3u

struct husk_dma_buf {
    husk_handle handle; /* for dma_free */
    void *cpu;          /* CPU address, zero-filled, aligned as asked */
    uint64_t bus;       /* address the device uses; differs from cpu under an IOMMU */
    uint64_t size;
};

struct husk_pci_id {
    uint16_t vendor, device, subvendor, subdevice;
    uint32_t class_code; /* base class << 16 | subclass << 8 | prog-if */
    uint8_t revision;
    uint8_t reserved[3];
    char address[32]; /* host's name for it, e.g. "0000:00:03.0" or "sim:1" */
};

struct husk_bar_info {
    uint64_t size;  /* 0: BAR not implemented */
    uint32_t flags; /* HUSK_BAR_* */
    uint32_t reserved;
};

struct husk_blk_info {
    uint64_t size;        /* bytes */
    uint32_t sector_size; /* logical block size the host reports (512 for files) */
    uint32_t read_only;   /* 1 if opened or only available read-only */
};

/* ---- frame_open flags (ABI 1.1). */
#define HUSK_FRAME_CREATE 1u /* create the device if it does not exist; it is removed at close */

/* What frame_open reports about a host frame device. */
struct husk_frame_info {
    uint8_t mac[6];    /* an address for the component's end: locally administered, picked by the host */
    uint16_t reserved; /* 0 */
    uint32_t mtu;      /* payload bytes after the 14-byte Ethernet header */
};

/* An asynchronous block request. The caller owns the memory of the request
 * and of buf, but hands both to the host from blk_submit until `done` has
 * returned: it must not touch or free them in between. */
struct husk_blk_req {
    uint32_t op;                            /* HUSK_BLK_READ / WRITE / FLUSH */
    int32_t status;                         /* out: HUSK_OK, HUSK_EIO, HUSK_ENOSPC, ... */
    void *buf;                              /* READ/WRITE data */
    uint64_t len;                           /* bytes; READ/WRITE require len > 0 */
    uint64_t offset;                        /* bytes from the start of the device */
    void (*done)(struct husk_blk_req *req); /* runs in irq context */
    void *arg;                              /* for the caller */
    uint64_t host_private[2];
};

struct husk_hyp {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t size; /* sizeof(struct husk_hyp) in the host that filled it */
    uint32_t reserved0;
    uint64_t features;   /* HUSK_FEAT_* */
    const char *backend; /* "posix", "sim", "vfio", "uio", or a port's name */

    /* ==== Memory ===================================================== */

    /* [blocks: no] [irq: no] Allocate size bytes aligned to align (a power of
     * two, 0 means 16). Fails EINVAL (size 0, size > 2^40, bad align), ENOMEM. */
    int32_t (*mem_alloc)(husk_ctx *ctx, uint64_t size, uint64_t align, void **out);
    /* [blocks: no] [irq: no] Free what mem_alloc returned; size must be the size
     * asked for. Fails EINVAL for a pointer or size the host did not hand out. */
    int32_t (*mem_free)(husk_ctx *ctx, void *ptr, uint64_t size);
    /* [blocks: no] [irq: yes] The host's page size in bytes. */
    uint64_t (*page_size)(husk_ctx *ctx);
    /* [blocks: no] [irq: no] Map size bytes (a multiple of page_size, > 0) of
     * zeroed anonymous memory with HUSK_PROT_* bits. Fails EINVAL, ENOMEM. */
    int32_t (*page_map)(husk_ctx *ctx, uint64_t size, uint32_t prot, void **out);
    /* [blocks: no] [irq: no] Unmap a whole page_map mapping. EINVAL if addr/size
     * is not exactly one mapping. */
    int32_t (*page_unmap)(husk_ctx *ctx, void *addr, uint64_t size);

    /* ==== DMA memory ================================================= */

    /* [blocks: no] [irq: no] Allocate zeroed memory that devices can reach, in
     * the DMA address space shared by this host's devices. The bus address is
     * aligned to align (power of two, >= page size is honoured exactly; 0 means
     * page size) and the whole buffer lies below max_bus_addr (0: no limit),
     * for devices with a narrow DMA mask. Backends: posix gives bus == cpu;
     * sim and vfio give an I/O virtual address behind an IOMMU; uio gives a
     * physical address from a pinned pool. Fails EINVAL, ENOMEM (no memory or
     * no free bus addresses below the limit), ENODEV (no DMA on this backend). */
    int32_t (*dma_alloc)(husk_ctx *ctx, uint64_t size, uint64_t align, uint64_t max_bus_addr, struct husk_dma_buf *out);
    /* [blocks: no] [irq: no] Unmap and free. EBADF for an unknown handle. The
     * caller guarantees no device still uses the buffer. */
    int32_t (*dma_free)(husk_ctx *ctx, husk_handle buf);

    /* ==== Threads ==================================================== */

    /* [blocks: no] [irq: no] Start fn(arg) on a new thread named name (first 15
     * bytes are shown by the OS). The new thread belongs to ctx's component.
     * flags: HUSK_THREAD_JOINABLE or 0 (detached). out may be NULL for a
     * detached thread. Fails EINVAL (NULL fn), EAGAIN (no more threads). */
    int32_t (*thread_create)(husk_ctx *ctx, const char *name, void (*fn)(void *arg), void *arg, uint32_t flags,
                             husk_handle *out);
    /* [blocks: yes] [irq: no] Wait for a joinable thread to end; the handle is
     * invalid afterwards. Not interruptible. Fails EBADF (unknown, detached or
     * already joined), EDEADLK (joining oneself). */
    int32_t (*thread_join)(husk_ctx *ctx, husk_handle thread);
    /* [blocks: -] [irq: no] End the calling thread (created by thread_create).
     * Does not return. Called from a host thread it panics. */
    void (*thread_exit)(husk_ctx *ctx);
    /* [blocks: no] [irq: yes] Handle of the calling thread (host threads get one
     * on first use). Valid for thread_cancel. */
    husk_handle (*thread_self)(husk_ctx *ctx);
    /* [blocks: no] [irq: yes] The context of the component the calling thread
     * works for: its own threads, the host threads running its init/run/fini,
     * its interrupt handlers and I/O completions. NULL on any other thread.
     * The one operation without a ctx argument, since finding it is its job:
     * the glue uses it so that kernel-style calls need no ctx parameter. */
    husk_ctx *(*ctx_current)(void);
    /* [blocks: no] [irq: yes] One pointer-sized slot per thread for the
     * component's own per-thread context (curlwp). Starts NULL. */
    void (*tls_set)(husk_ctx *ctx, void *value);
    void *(*tls_get)(husk_ctx *ctx);
    /* [blocks: no] [irq: yes] Set the cancellation flag of a thread and wake it
     * if it sleeps or waits. EBADF for an unknown thread. */
    int32_t (*thread_cancel)(husk_ctx *ctx, husk_handle thread);
    /* [blocks: no] [irq: yes] 1 if the calling thread's cancellation flag is set. */
    int32_t (*cancel_pending)(husk_ctx *ctx);
    /* [blocks: no] [irq: yes] Clear the calling thread's cancellation flag. */
    void (*cancel_clear)(husk_ctx *ctx);

    /* ==== Mutexes (never interruptible, not recursive) =============== */

    /* [blocks: no] [irq: no] Fails EAGAIN when the host's mutex table is full. */
    int32_t (*mutex_create)(husk_ctx *ctx, const char *name, husk_handle *out);
    /* [blocks: no] [irq: no] EBADF; panics if the mutex is held. */
    int32_t (*mutex_destroy)(husk_ctx *ctx, husk_handle m);
    /* [blocks: yes] [irq: yes, short sections only] EBADF; panics if the
     * caller already holds it (self-deadlock). */
    int32_t (*mutex_lock)(husk_ctx *ctx, husk_handle m);
    /* [blocks: no] [irq: yes] EBUSY if held by anyone (the caller included). */
    int32_t (*mutex_trylock)(husk_ctx *ctx, husk_handle m);
    /* [blocks: no] [irq: yes] EBADF; panics if the caller does not hold it. */
    int32_t (*mutex_unlock)(husk_ctx *ctx, husk_handle m);
    /* [blocks: no] [irq: yes] 1 if the calling thread holds m, else 0 (also for
     * an invalid handle). For assertions. */
    int32_t (*mutex_owned)(husk_ctx *ctx, husk_handle m);

    /* ==== Reader/writer locks (never interruptible) ================== */

    int32_t (*rw_create)(husk_ctx *ctx, const char *name, husk_handle *out); /* as mutex_create */
    int32_t (*rw_destroy)(husk_ctx *ctx, husk_handle rw);                    /* EBADF; panics if held */
    /* [blocks: yes] [irq: no] mode HUSK_RW_READER or HUSK_RW_WRITER; EINVAL for
     * another mode; panics if the caller already holds it as writer. Waiting
     * writers go before new readers, so read holds are not recursive: entering
     * again as reader can deadlock behind a waiting writer. */
    int32_t (*rw_enter)(husk_ctx *ctx, husk_handle rw, uint32_t mode);
    /* [blocks: no] [irq: no] EBUSY if not immediately available. */
    int32_t (*rw_tryenter)(husk_ctx *ctx, husk_handle rw, uint32_t mode);
    /* [blocks: no] [irq: no] Release one hold; panics if the caller holds none. */
    int32_t (*rw_exit)(husk_ctx *ctx, husk_handle rw);

    /* ==== Condition variables ======================================== */

    int32_t (*cv_create)(husk_ctx *ctx, const char *name, husk_handle *out);
    int32_t (*cv_destroy)(husk_ctx *ctx, husk_handle cv); /* EBADF; EBUSY with waiters */
    /* [blocks: yes] [irq: no] Atomically release m (held by the caller, else
     * panic) and wait; m is held again on return, whatever the result.
     * Spurious wake-ups are possible: wait in a loop. Returns 0, EINTR
     * (cancelled), EBADF. */
    int32_t (*cv_wait)(husk_ctx *ctx, husk_handle cv, husk_handle m);
    /* [blocks: yes] [irq: no] As cv_wait with a deadline on the monotonic clock
     * (clock_monotonic ns). ETIMEDOUT once the deadline has passed. */
    int32_t (*cv_timedwait)(husk_ctx *ctx, husk_handle cv, husk_handle m, uint64_t deadline_ns);
    /* [blocks: no] [irq: yes] Wake one / all waiters. Holding m is not required. */
    int32_t (*cv_signal)(husk_ctx *ctx, husk_handle cv);
    int32_t (*cv_broadcast)(husk_ctx *ctx, husk_handle cv);

    /* ==== Time ======================================================= */

    /* [blocks: no] [irq: yes] Monotonic clock in ns (arbitrary origin). */
    uint64_t (*clock_monotonic)(husk_ctx *ctx);
    /* [blocks: no] [irq: yes] Wall clock in ns since 1970-01-01 UTC. */
    uint64_t (*clock_wall)(husk_ctx *ctx);
    /* [blocks: yes] [irq: no] Sleep ns nanoseconds. 0 or EINTR (cancelled). */
    int32_t (*sleep_ns)(husk_ctx *ctx, uint64_t ns);
    /* [blocks: yes] [irq: no] Sleep until clock_monotonic >= deadline_ns. 0 or EINTR. */
    int32_t (*sleep_until)(husk_ctx *ctx, uint64_t deadline_ns);

    /* ==== Random, console, panic, configuration ====================== */

    /* [blocks: no] [irq: yes] Fill buf with len cryptographically random
     * bytes. EFAULT (NULL with len > 0), EIO. */
    int32_t (*random_bytes)(husk_ctx *ctx, void *buf, uint64_t len);
    /* [blocks: no] [irq: yes] One line to the host's log, tagged with the
     * component's name and the level. msg is NUL-terminated. */
    void (*log)(husk_ctx *ctx, uint32_t level, const char *msg);
    /* [blocks: -] [irq: yes] Report "panic: <component>: <msg>" and end the
     * whole server process with exit status HUSK_PANIC_EXIT_STATUS. */
    void (*panic)(husk_ctx *ctx, const char *msg);
    /* [blocks: no] [irq: no] Copy the value of configuration key `key` given
     * to this component by the host (a module parameter) into buf as a
     * NUL-terminated string; *len (may be NULL) gets its length without the
     * NUL. ENOENT (not set), ERANGE (buf too small; *len tells the size). */
    int32_t (*config_get)(husk_ctx *ctx, const char *key, char *buf, uint64_t buflen, uint64_t *len);

    /* ==== PCI devices (HUSK_FEAT_PCI) ================================ */

    /* [blocks: no] [irq: no] Identity of the index-th device this host offers
     * (indices are dense from 0). ENOENT past the end, ENODEV without PCI. */
    int32_t (*pci_enumerate)(husk_ctx *ctx, uint32_t index, struct husk_pci_id *out);
    /* [blocks: yes] [irq: no] Open a device for exclusive use; the backend
     * resets it (vfio: VFIO_DEVICE_RESET when supported). EBUSY if open. */
    int32_t (*dev_open)(husk_ctx *ctx, uint32_t index, husk_handle *out);
    /* [blocks: yes] [irq: no] Disestablish its interrupts, unmap its BARs and
     * release it. EBADF. */
    int32_t (*dev_close)(husk_ctx *ctx, husk_handle dev);
    /* [blocks: no] [irq: yes] Config space access; width 1, 2 or 4 and offset
     * aligned to it (EINVAL), inside config space (EINVAL). */
    int32_t (*cfg_read)(husk_ctx *ctx, husk_handle dev, uint32_t offset, uint32_t width, uint32_t *val);
    int32_t (*cfg_write)(husk_ctx *ctx, husk_handle dev, uint32_t offset, uint32_t width, uint32_t val);
    /* [blocks: no] [irq: yes] Size and kind of BAR 0..5. EINVAL for another index. */
    int32_t (*bar_info)(husk_ctx *ctx, husk_handle dev, uint32_t bar, struct husk_bar_info *out);
    /* [blocks: no] [irq: no] Map an MMIO BAR into the CPU; the mapping lives
     * until dev_close. ENOTSUP when the BAR is not mappable (the sim backend
     * never maps: its devices must see every access; use bar_read/bar_write). */
    int32_t (*bar_map)(husk_ctx *ctx, husk_handle dev, uint32_t bar, void **va);
    /* [blocks: no] [irq: yes] Access a BAR (MMIO or port I/O) through the host:
     * width 1, 2, 4 or 8, offset aligned to width and inside the BAR (EINVAL). */
    int32_t (*bar_read)(husk_ctx *ctx, husk_handle dev, uint32_t bar, uint64_t offset, uint32_t width, uint64_t *val);
    int32_t (*bar_write)(husk_ctx *ctx, husk_handle dev, uint32_t bar, uint64_t offset, uint32_t width, uint64_t val);
    /* [blocks: yes] [irq: no] Function-level reset. ENOTSUP if the device has none. */
    int32_t (*dev_reset)(husk_ctx *ctx, husk_handle dev);
    /* [blocks: no] [irq: no] Register fn(arg), called once on a host thread when
     * the host wants the device back (vfio: the kernel's release request). The
     * component should stop using the device and dev_close it. */
    int32_t (*dev_on_release)(husk_ctx *ctx, husk_handle dev, void (*fn)(void *arg), void *arg);

    /* ==== Interrupts ================================================= */

    /* [blocks: yes] [irq: no] Declare the interrupt vectors the driver will use,
     * all at once (vfio enables them with one VFIO_DEVICE_SET_IRQS). kinds is a
     * mask of acceptable HUSK_IRQ_*; *kind gets the chosen one, *count the
     * vectors granted (1..want; INTx always 1). ENODEV if none of the kinds
     * exists, EBUSY if already allocated. */
    int32_t (*irq_alloc)(husk_ctx *ctx, husk_handle dev, uint32_t kinds, uint32_t want, uint32_t *kind,
                         uint32_t *count);
    /* [blocks: no] [irq: no] Run handler(arg) on the vector's dedicated host
     * thread each time it fires; the handler runs in irq context, one call at
     * a time per vector. Return value: 1 handled, 0 not mine (for logs).
     * EINVAL (vector out of range), EEXIST (vector already has a handler). */
    int32_t (*irq_establish)(husk_ctx *ctx, husk_handle dev, uint32_t vector, int32_t (*handler)(void *arg), void *arg,
                             husk_handle *out);
    /* [blocks: yes] [irq: no] Remove a handler; when it returns the handler is
     * not running and will not run again. EBADF. */
    int32_t (*irq_disestablish)(husk_ctx *ctx, husk_handle ih);
    /* [blocks: no] [irq: yes] Re-arm a level interrupt after the device was
     * quiesced (INTx: vfio-pci masks INTx on every interrupt, this is the
     * unmask). A no-op for MSI/MSI-X. */
    int32_t (*irq_ack)(husk_ctx *ctx, husk_handle dev, uint32_t vector);
    /* [blocks: no] [irq: yes] Stop / resume delivery of a vector. For MSI-X and
     * MSI this is a gate in the host thread (Linux 6.1 VFIO cannot mask MSI-X):
     * an interrupt arriving while masked is held and delivered on unmask. */
    int32_t (*irq_mask)(husk_ctx *ctx, husk_handle dev, uint32_t vector);
    int32_t (*irq_unmask)(husk_ctx *ctx, husk_handle dev, uint32_t vector);

    /* ==== Block I/O on host files and block devices (HUSK_FEAT_BLK) ==== */

    /* [blocks: yes] [irq: no] Open a path with HUSK_BLK_* flags; info may be
     * NULL. ENOENT, EACCES, EROFS (RDWR on a read-only file), EINVAL. */
    int32_t (*blk_open)(husk_ctx *ctx, const char *path, uint32_t flags, husk_handle *out, struct husk_blk_info *info);
    /* [blocks: yes] [irq: no] Synchronous transfer of exactly len bytes at
     * offset. EINVAL (len 0, or offset+len beyond the end), EROFS, EIO, ENOSPC,
     * EBADF. With HUSK_BLK_DIRECT, buf, len and offset must be sector-aligned
     * (EINVAL). Not interruptible. */
    int32_t (*blk_read)(husk_ctx *ctx, husk_handle blk, void *buf, uint64_t len, uint64_t offset);
    int32_t (*blk_write)(husk_ctx *ctx, husk_handle blk, const void *buf, uint64_t len, uint64_t offset);
    /* [blocks: yes] [irq: no] Make every write that completed before this call
     * durable (fdatasync on posix). EIO, EBADF. */
    int32_t (*blk_flush)(husk_ctx *ctx, husk_handle blk);
    /* [blocks: no] [irq: yes] Queue req; req->done(req) runs later on a host
     * completion thread with req->status set. Checks as the synchronous forms;
     * on an immediate error nothing is queued and done is not called. A FLUSH
     * covers every write whose completion ran before it was submitted. */
    int32_t (*blk_submit)(husk_ctx *ctx, husk_handle blk, struct husk_blk_req *req);
    /* [blocks: yes] [irq: no] Wait for the device's queued requests to
     * complete, then close it. EBADF. */
    int32_t (*blk_close)(husk_ctx *ctx, husk_handle blk);

    /* ==== Frame I/O on host frame devices (HUSK_FEAT_FRAME; ABI 1.1) ====
     * A host frame device carries Ethernet frames (no FCS) between the
     * component and the host: on the posix backend a TAP interface, whose
     * other end is the host kernel's network stack. */

    /* [blocks: yes] [irq: no] Open the frame device called name (posix: a
     * TAP interface, 1..15 bytes of [A-Za-z0-9_.-]); with HUSK_FRAME_CREATE
     * it is created if missing (and then removed at close). info may be
     * NULL. EINVAL (bad name or flags), ENOENT (no such device), EBUSY (in
     * use), EACCES (not permitted, e.g. no CAP_NET_ADMIN to create). */
    int32_t (*frame_open)(husk_ctx *ctx, const char *name, uint32_t flags, husk_handle *out,
                          struct husk_frame_info *info);
    /* [blocks: no] [irq: yes] Send one frame of len bytes (14 .. mtu + 18).
     * EINVAL (length), EAGAIN (the host queue is full), EIO (the device is
     * down or failed), EBADF. */
    int32_t (*frame_send)(husk_ctx *ctx, husk_handle dev, const void *frame, uint64_t len);
    /* [blocks: yes] [irq: no] Wait up to timeout_ns (UINT64_MAX: no limit)
     * for one frame; copy it to buf and its length to *len. ETIMEDOUT,
     * EINTR (cancelled; noticed within 20 ms), ERANGE (longer than cap:
     * *len is its length, the frame is dropped), EBADF (also when the
     * device is closed meanwhile), EIO. */
    int32_t (*frame_recv)(husk_ctx *ctx, husk_handle dev, void *buf, uint64_t cap, uint64_t *len, uint64_t timeout_ns);
    /* [blocks: no] [irq: no] Close the device. EBADF. */
    int32_t (*frame_close)(husk_ctx *ctx, husk_handle dev);
};

/* Is `slot` present in this host's table? For operations appended after the
 * ABI version a component requires. */
#define HUSK_HYP_HAS(hyp, slot) \
    ((hyp)->size >= __builtin_offsetof(struct husk_hyp, slot) + sizeof((hyp)->slot) && (hyp)->slot != 0)

/* ---- Components ---------------------------------------------------------- */

#define HUSK_KIND_DRIVER     1u
#define HUSK_KIND_FILESYSTEM 2u
#define HUSK_KIND_NETWORK    3u
#define HUSK_KIND_OTHER      4u

/* What a component exports. The host checks the ABI version, orders
 * components so that dependencies initialise first, calls init, then run (if
 * any) on a host thread, and fini in reverse order. */
struct husk_component {
    uint32_t abi_major;      /* HUSK_ABI_MAJOR the component was built for */
    uint32_t abi_minor;      /* lowest minor it needs */
    const char *name;        /* unique, [a-z0-9_-]+ */
    const char *description; /* one line for `husk components` */
    uint32_t kind;           /* HUSK_KIND_* */
    uint32_t reserved;
    const char *const *depends; /* NULL-terminated names, or NULL */
    /* [blocks: yes] Set up; keep hyp for later calls. Non-zero refuses the
     * component (and everything that depends on it). */
    int32_t (*init)(husk_ctx *ctx, const struct husk_hyp *hyp);
    /* [blocks: yes] Optional main job, run after every component's init, on a
     * host thread that the host cancels on shutdown. Returns a status. */
    int32_t (*run)(husk_ctx *ctx);
    /* [blocks: yes] Tear down everything init created. May be NULL. */
    void (*fini)(husk_ctx *ctx);
};

/* The symbol a dynamically loaded component exports: a function returning
 * its descriptor. */
#define HUSK_COMPONENT_ENTRY_SYMBOL "husk_component_entry"
/* The ELF section that collects a pointer to each built-in component's
 * descriptor (a link set, as NetBSD's rump keeps its modules): the host
 * walks __start_/__stop_husk_components, so linking a component in is all
 * it takes to register it. */
#define HUSK_COMPONENT_LINK_SET     "husk_components"

#ifdef HUSK_COMPONENT_SHARED
#define HUSK_COMPONENT_EXPORT(NAME)                                                                  \
    __attribute__((visibility("default"))) const struct husk_component *husk_component_entry(void);  \
    __attribute__((visibility("default"))) const struct husk_component *husk_component_entry(void) { \
        return &husk_component_##NAME;                                                               \
    }
#else
#define HUSK_COMPONENT_EXPORT(NAME)                                                                               \
    __attribute__((                                                                                               \
        used,                                                                                                     \
        section(HUSK_COMPONENT_LINK_SET))) static const struct husk_component *const husk_component_link_##NAME = \
        &husk_component_##NAME;
#endif

/* Mark a component's own cross-file functions and globals (those in its
 * <prefix>_private.h): hidden visibility keeps them out of the dynamic
 * symbol table, so a component loaded with dlopen never binds them to a
 * same-named symbol of the executable (which exports its symbols for the
 * glue) or of another component. docs/components.md, "Conventions". */
#define HUSK_PRIVATE __attribute__((__visibility__("hidden")))

/* Define a component:
 *   HUSK_COMPONENT(name) = { .abi_major = HUSK_ABI_MAJOR, .abi_minor = 0,
 *                            .name = "name", ... };
 * Built with -DHUSK_COMPONENT_SHARED it also exports husk_component_entry
 * (visible even under -fvisibility=hidden, which shared components should
 * use so that their own symbols never bind to copies in the host). */
#define HUSK_COMPONENT(NAME) HUSK_COMPONENT_DEFINE_(NAME)
/* One level of indirection so that NAME is macro-expanded before any use:
 * a NAME that is itself a macro names one symbol everywhere. */
#define HUSK_COMPONENT_DEFINE_(NAME)                          \
    extern const struct husk_component husk_component_##NAME; \
    HUSK_COMPONENT_EXPORT(NAME)                               \
    const struct husk_component husk_component_##NAME

#ifdef __cplusplus
}
#endif

#endif /* HUSK_HYPERCALL_H */
