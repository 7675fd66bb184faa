/*
 * vnet_config.c — the network device's configuration (5.1.4): its MAC
 * address (VIRTIO_NET_F_MAC) and link status (VIRTIO_NET_F_STATUS), and
 * passing link changes on to the NIC registry.
 */
#include "vnet_private.h"

struct vnet_config {
    uint8_t mac[6];
    uint16_t status;
};

static void vnet_config_fields(struct virtio_pci *vp, void *arg) {
    struct vnet_config *c = arg;
    for (unsigned i = 0; i < 6; i++) c->mac[i] = virtio_config_read_1(vp, VIRTIO_NET_CFG_MAC + i);
    c->status = virtio_config_read_2(vp, VIRTIO_NET_CFG_STATUS);
}

/* Without VIRTIO_NET_F_MAC the driver picks an address (5.1.4.2): a
 * locally administered unicast one, from the clocks and the unit, logged. */
static void vnet_invent_mac(struct vnet_softc *sc) {
    uint64_t x = glue_uptime_ns() ^ (glue_walltime_ns() << 7) ^ ((uint64_t)sc->unit << 40);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    for (unsigned i = 0; i < 6; i++) sc->mac[i] = (uint8_t)(x >> (8 * i));
    sc->mac[0] = (uint8_t)((sc->mac[0] & 0xfe) | 0x02);
}

/* At the first bring-up: the MAC (offered, or invented) and the link
 * (down only if STATUS says so). */
int vnet_read_config(struct vnet_softc *sc) {
    struct vnet_config c;
    int r = virtio_config_read(&sc->vp, vnet_config_fields, &c);
    if (r != 0) return r;
    bool zero = true;
    for (unsigned i = 0; i < 6; i++) zero = zero && c.mac[i] == 0;
    if ((sc->vp.features & VIRTIO_NET_F_MAC) && !zero && !(c.mac[0] & 1)) {
        memcpy(sc->mac, c.mac, 6);
    } else {
        vnet_invent_mac(sc);
        const uint8_t *m = sc->mac;
        glue_dev_logf(LOG_INFO, sc->vp.name, "%s: using %02x:%02x:%02x:%02x:%02x:%02x",
                      (sc->vp.features & VIRTIO_NET_F_MAC) ? "the device's MAC is not a unicast address"
                                                           : "the device has no MAC (VIRTIO_NET_F_MAC)",
                      m[0], m[1], m[2], m[3], m[4], m[5]);
    }
    sc->link_up = !(sc->vp.features & VIRTIO_NET_F_STATUS) || (c.status & VIRTIO_NET_S_LINK_UP);
    return 0;
}

/* Read the link status and report a change to the registry. One updater
 * at a time, the others leave a note (link_again), so reports keep the
 * order of the reads; the registry is called without the lock. Any
 * context that may call glue_netif_link (irq, callout). */
void vnet_link_update(struct vnet_softc *sc) {
    if (!(sc->vp.features & VIRTIO_NET_F_STATUS)) return;
    mutex_enter(&sc->lock);
    if (sc->link_updating) {
        sc->link_again = true;
        mutex_exit(&sc->lock);
        return;
    }
    sc->link_updating = true;
    do {
        sc->link_again = false;
        bool running = sc->state == VNET_RUNNING;
        mutex_exit(&sc->lock);
        /* One 16-bit field: a single read is consistent (4.1.4.3.1). */
        bool up = running && (virtio_config_read_2(&sc->vp, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP);
        mutex_enter(&sc->lock);
        if (running && up != sc->link_up && sc->state == VNET_RUNNING) {
            sc->link_up = up;
            sc->st.link_changes++;
            bool report = sc->registered;
            mutex_exit(&sc->lock);
            glue_dev_logf(LOG_INFO, sc->vp.name, "%s: link %s", sc->name, up ? "up" : "down");
            if (report) glue_netif_link(&sc->nif, up ? NETIF_LINK_UP : NETIF_LINK_DOWN);
            mutex_enter(&sc->lock);
        }
    } while (sc->link_again);
    sc->link_updating = false;
    mutex_exit(&sc->lock);
}
