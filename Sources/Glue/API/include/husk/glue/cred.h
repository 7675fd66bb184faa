/*
 * husk/glue/cred.h — who is calling: the credentials of the RPC call the
 * calling thread is serving, for a component's own permission checks.
 *
 * The identity comes from the kernel (SO_PEERCRED and SO_PEERGROUPS of the
 * client's connection, or inherited by an opened object's connection from
 * the connection that opened it), never from a request payload
 * (docs/protocol.md §9). The server runtime sets it on the worker thread
 * around each call it dispatches; other threads (a component's own
 * kthreads, callouts, workqueues) serve no call.
 */
#ifndef HUSK_GLUE_CRED_H
#define HUSK_GLUE_CRED_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Supplementary groups copied into struct glue_cred at most. */
#define GLUE_CRED_MAX_GROUPS 64

struct glue_cred {
    uint32_t uid;
    uint32_t gid;           /* primary group */
    uint32_t ngroups;       /* entries of groups[] filled (<= GLUE_CRED_MAX_GROUPS) */
    uint32_t ngroups_total; /* supplementary groups the caller has (may exceed ngroups) */
    uint32_t groups[GLUE_CRED_MAX_GROUPS];
};

/* [blocks: no] [irq: no] Fill *out with the credentials of the call the
 * calling thread is serving. Returns 0, HUSK_ENOENT when the thread serves
 * no call, HUSK_EINVAL when out is NULL. */
int glue_caller_cred(struct glue_cred *out);

/* [blocks: no] [irq: no] Whether the caller of the current call is uid or
 * has gid as its primary or a supplementary group. 0 when no call is served. */
bool glue_caller_has_gid(uint32_t gid);

#ifdef __cplusplus
}
#endif

#endif
