/* vfio.c — marshalling for the VFIO structures Swift cannot build easily
 * (those ending in a flexible array or carrying a capability chain). The
 * logic of the vfio backend lives in Swift (Sources/Hypercalls/Backends/VFIO). */
#define _GNU_SOURCE
#include "husk_vfio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

int husk_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }
int husk_ioctl_int(int fd, unsigned long request, unsigned long arg) { return ioctl(fd, request, arg); }

#ifdef __linux__
int husk_vfio_set_irqs(int device_fd, uint32_t index, uint32_t flags, uint32_t start, uint32_t count,
                       const int32_t *fds) {
    size_t data = (flags & VFIO_IRQ_SET_DATA_EVENTFD) ? (size_t)count * sizeof(int32_t) : 0;
    size_t argsz = sizeof(struct vfio_irq_set) + data;
    struct vfio_irq_set *set = calloc(1, argsz);
    if (set == NULL) return -ENOMEM;
    set->argsz = (uint32_t)argsz;
    set->flags = flags;
    set->index = index;
    set->start = start;
    set->count = count;
    if (data > 0) memcpy(set->data, fds, data);
    int r = ioctl(device_fd, VFIO_DEVICE_SET_IRQS, set);
    int err = errno;
    free(set);
    return r < 0 ? -err : 0;
}

int husk_vfio_map_dma(int container_fd, uint64_t vaddr, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = vaddr,
        .iova = iova,
        .size = size,
    };
    return ioctl(container_fd, VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno : 0;
}

int husk_vfio_unmap_dma(int container_fd, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .flags = 0,
        .iova = iova,
        .size = size,
    };
    return ioctl(container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 ? -errno : 0;
}

int husk_vfio_iommu_info(int container_fd, uint64_t *pgsizes, uint64_t *starts, uint64_t *ends, int max) {
    /* First call with the bare structure: the kernel raises argsz to what
     * the capability chain needs; then call again with that much room. */
    struct vfio_iommu_type1_info probe = {.argsz = sizeof(probe)};
    if (ioctl(container_fd, VFIO_IOMMU_GET_INFO, &probe) < 0) return -errno;
    *pgsizes = (probe.flags & VFIO_IOMMU_INFO_PGSIZES) ? probe.iova_pgsizes : 0;
    if (!(probe.flags & VFIO_IOMMU_INFO_CAPS) || probe.argsz <= sizeof(probe)) return 0;

    uint32_t argsz = probe.argsz;
    unsigned char *buf = calloc(1, argsz);
    if (buf == NULL) return -ENOMEM;
    struct vfio_iommu_type1_info *info = (struct vfio_iommu_type1_info *)buf;
    info->argsz = argsz;
    if (ioctl(container_fd, VFIO_IOMMU_GET_INFO, info) < 0) {
        int err = errno;
        free(buf);
        return -err;
    }
    int found = 0;
    uint32_t off = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;
    /* Walk the chain; every offset is checked against the buffer. */
    while (off != 0 && off + sizeof(struct vfio_info_cap_header) <= argsz) {
        struct vfio_info_cap_header *hdr = (struct vfio_info_cap_header *)(buf + off);
        if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
            off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= argsz) {
            struct vfio_iommu_type1_info_cap_iova_range *cap = (struct vfio_iommu_type1_info_cap_iova_range *)hdr;
            for (uint32_t i = 0; i < cap->nr_iovas; i++) {
                size_t end = off + sizeof(*cap) + (size_t)(i + 1) * sizeof(struct vfio_iova_range);
                if (end > argsz) break;
                if (found < max) {
                    starts[found] = cap->iova_ranges[i].start;
                    ends[found] = cap->iova_ranges[i].end;
                }
                found++;
            }
        }
        if (hdr->next <= off) break; /* the chain only moves forward */
        off = hdr->next;
    }
    free(buf);
    return found;
}
#endif
