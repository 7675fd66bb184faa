/* tap_private.h — prefix tap: the TAP NIC's state and the functions its
 * files share (HUSK_PRIVATE). */
#ifndef TAP_PRIVATE_H
#define TAP_PRIVATE_H

#include <husk/glue.h>

#define TAP_RX_BUFFERS 64u /* frames that can be lent to the consumer at once */

struct tap_softc {
    husk_ctx *ctx;
    const struct husk_hyp *hyp;
    husk_handle dev;             /* the frame device */
    struct husk_frame_info info; /* its MAC and MTU */
    char tap_name[16];           /* the host interface (parameter name) */
    char if_name[16];            /* the registry name (parameter ifname) */
    bool create;                 /* parameter create */
    struct netif nif;            /* what the registry sees */
    bool registered;
    size_t frame_cap; /* bytes per receive buffer */
    kmutex_t lock;    /* guards free_list, nfree and stopping */
    kcondvar_t freed; /* a buffer came back, or stopping */
    void *buffers[TAP_RX_BUFFERS];
    void *free_list[TAP_RX_BUFFERS];
    unsigned nfree;
    bool stopping;
    kthread_t rx;
    bool rx_started;
    uint64_t rx_frames, rx_dropped, tx_frames, tx_errors; /* counters, under lock */
};

/* tap_params.c: read name, ifname and create; logs every problem. */
HUSK_PRIVATE int tap_params_load(struct tap_softc *sc);
/* tap_rx.c: the receive thread and the buffers it lends. */
HUSK_PRIVATE void tap_rx_loop(void *arg);
HUSK_PRIVATE void tap_rx_return(void *priv, void *frame);

#endif
