/*
 * virtio_test_hooks.h — a small driver over the virtio library
 * (husk/virtio.h) for Tests/VirtioLibTests: it attaches to the sim's
 * virtio-blk device (and looks at any other device it is given), runs one
 * scenario against the library and reports what it saw. FLUSH requests
 * (two descriptors: header, status byte) are the load: they need no data
 * buffers and the sim serves them at once.
 *
 * vtest_run must be called from a component's init (the glue finds the
 * calling component from the thread), on a sim backend.
 */
#ifndef VIRTIO_TEST_HOOKS_H
#define VIRTIO_TEST_HOOKS_H

#include <husk/virtio.h>

#define VTEST_MAP       1u /* capability walk and mapping; device configuration */
#define VTEST_NEGOTIATE 2u /* virtio_negotiate(required, optional) */
#define VTEST_QUEUE     3u /* a queue, its interrupts, requests, resets */
#define VTEST_USED      4u /* free list accounting and forged used elements */

struct vtest_args {
    uint32_t kind;           /* VTEST_* */
    uint64_t device_min;     /* MAP: virtio_pci_map's device_min */
    uint64_t required;       /* NEGOTIATE */
    uint64_t optional;       /* NEGOTIATE */
    uint32_t intr_mode;      /* QUEUE: VIRTIO_INTR_* */
    uint32_t extra_queues;   /* QUEUE: queue objects 1..n besides queue 0 (the sim has only queue 0) */
    uint16_t max_size;       /* QUEUE, USED: virtio_vq_alloc's max_size */
    uint16_t requested;      /* QUEUE, USED: virtio_vq_setup's requested */
    uint32_t requests;       /* QUEUE: FLUSH requests to complete */
    uint32_t resets;         /* QUEUE: reset and bring up again this many times along the way */
    uint32_t wait_config_ms; /* QUEUE: at the end, wait this long for the device to need a reset */
};

struct vtest_result {
    uint32_t attached; /* devices the driver was given */
    int32_t status;    /* the scenario's first error, 0 */
    /* MAP */
    struct virtio_pci_cap caps[VIRTIO_CAP_TYPES];
    uint64_t device_len, notify_len;
    uint32_t notify_mult;
    uint64_t capacity; /* virtio-blk config: sectors, through virtio_config_read */
    /* NEGOTIATE */
    uint64_t dev_features, features;
    uint8_t device_status; /* after the scenario */
    /* QUEUE */
    uint16_t size, size_after_reset;
    uint16_t avail_idx, last_used, num_free;
    uint16_t device_used_idx; /* used->idx in ring memory at the end */
    uint32_t intr_kind, intr_count;
    bool polling, no_interrupt;
    uint16_t config_vector, queue_vector;
    int32_t extra_setup; /* virtio_vq_setup of queue 1 */
    uint64_t completed, bad_completions;
    uint64_t interrupts, queue_calls, config_calls;
    uint64_t needs_reset_calls; /* config calls that found DEVICE_NEEDS_RESET */
    char health[64];            /* virtio_health after the last reset, or after the config wait */
    /* USED */
    int32_t alloc_all, alloc_one_more, forged[3], after_forged;
    uint16_t forged_head[3];
};

/* Run a scenario on every device the sim offers (the last device's result
 * is kept). 0, or the error of pci_driver_register. */
HUSK_PRIVATE int32_t vtest_run(const struct vtest_args *args, struct vtest_result *result);
/* true once a VTEST_QUEUE scenario waits for a configuration change. */
HUSK_PRIVATE bool vtest_waiting_for_config(void);

#endif
