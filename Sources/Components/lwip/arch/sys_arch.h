/*
 * arch/sys_arch.h — the types of lwIP's OS abstraction (lwip/sys.h), over
 * the glue: each is a pointer to an object sys_arch.c allocates with kmem,
 * so that NULL is lwIP's "invalid" value and copying the handle is cheap.
 */
#ifndef LWIP_ARCH_SYS_ARCH_H
#define LWIP_ARCH_SYS_ARCH_H

typedef struct lwport_sem *sys_sem_t;
typedef struct lwport_mutex *sys_mutex_t;
typedef struct lwport_mbox *sys_mbox_t;
typedef struct lwport_thread *sys_thread_t;
/* sys_arch_protect's token: whether this call took the lock (1) or found
 * the caller already holding it (0, a nested protect). */
typedef int sys_prot_t;

#define sys_sem_valid(s)         (*(s) != NULL)
#define sys_sem_set_invalid(s)   (*(s) = NULL)
#define sys_mutex_valid(m)       (*(m) != NULL)
#define sys_mutex_set_invalid(m) (*(m) = NULL)
#define sys_mbox_valid(b)        (*(b) != NULL)
#define sys_mbox_set_invalid(b)  (*(b) = NULL)

#endif
