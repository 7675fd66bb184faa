/* husk_vfio.h — what the backends that drive real PCI functions (vfio, uio,
 * Sources/Hypercalls/Backends) need from C: ioctl, the VFIO ioctl request
 * numbers (function-like macros Swift cannot import), marshalling of the
 * VFIO structures that end in a flexible array, and volatile MMIO
 * accessors. Host-only: components never see this. */
#ifndef HUSK_VFIO_H
#define HUSK_VFIO_H

#include <stdint.h>

/* ioctl with a pointer or an integer argument; returns -1 and sets errno. */
int husk_ioctl_ptr(int fd, unsigned long request, void *arg);
int husk_ioctl_int(int fd, unsigned long request, unsigned long arg);

#ifdef __linux__
#include <linux/vfio.h>

/* ---- VFIO ioctl request numbers. */
static inline unsigned long husk_vfio_req_get_api_version(void) { return VFIO_GET_API_VERSION; }
static inline unsigned long husk_vfio_req_check_extension(void) { return VFIO_CHECK_EXTENSION; }
static inline unsigned long husk_vfio_req_set_iommu(void) { return VFIO_SET_IOMMU; }
static inline unsigned long husk_vfio_req_group_get_status(void) { return VFIO_GROUP_GET_STATUS; }
static inline unsigned long husk_vfio_req_group_set_container(void) { return VFIO_GROUP_SET_CONTAINER; }
static inline unsigned long husk_vfio_req_group_unset_container(void) { return VFIO_GROUP_UNSET_CONTAINER; }
static inline unsigned long husk_vfio_req_group_get_device_fd(void) { return VFIO_GROUP_GET_DEVICE_FD; }
static inline unsigned long husk_vfio_req_device_get_info(void) { return VFIO_DEVICE_GET_INFO; }
static inline unsigned long husk_vfio_req_device_get_region_info(void) { return VFIO_DEVICE_GET_REGION_INFO; }
static inline unsigned long husk_vfio_req_device_get_irq_info(void) { return VFIO_DEVICE_GET_IRQ_INFO; }
static inline unsigned long husk_vfio_req_device_reset(void) { return VFIO_DEVICE_RESET; }

/* ---- PCI region and interrupt indices (an anonymous enum in linux/vfio.h). */
static inline uint32_t husk_vfio_pci_config_region_index(void) { return VFIO_PCI_CONFIG_REGION_INDEX; }
static inline uint32_t husk_vfio_pci_intx_irq_index(void) { return VFIO_PCI_INTX_IRQ_INDEX; }
static inline uint32_t husk_vfio_pci_msi_irq_index(void) { return VFIO_PCI_MSI_IRQ_INDEX; }
static inline uint32_t husk_vfio_pci_msix_irq_index(void) { return VFIO_PCI_MSIX_IRQ_INDEX; }
static inline uint32_t husk_vfio_pci_req_irq_index(void) { return VFIO_PCI_REQ_IRQ_INDEX; }

/* VFIO_DEVICE_SET_IRQS on vectors start..start+count-1 of irq index `index`.
 * flags: VFIO_IRQ_SET_DATA_* | VFIO_IRQ_SET_ACTION_*. With DATA_EVENTFD, fds
 * holds count descriptors (-1 detaches one); otherwise fds is ignored.
 * Returns 0 or -errno. */
int husk_vfio_set_irqs(int device_fd, uint32_t index, uint32_t flags, uint32_t start, uint32_t count,
                       const int32_t *fds);

/* VFIO_IOMMU_MAP_DMA (device read+write) / VFIO_IOMMU_UNMAP_DMA. 0 or -errno. */
int husk_vfio_map_dma(int container_fd, uint64_t vaddr, uint64_t iova, uint64_t size);
int husk_vfio_unmap_dma(int container_fd, uint64_t iova, uint64_t size);

/* VFIO_IOMMU_GET_INFO: the supported IOMMU page sizes (bitmap, 0 if not
 * reported) and up to max usable IOVA ranges [start, end] (inclusive) from
 * the IOVA-range capability. Returns the number of ranges found (may exceed
 * max; only max are stored), 0 when the kernel does not report ranges, or
 * -errno. */
int husk_vfio_iommu_info(int container_fd, uint64_t *pgsizes, uint64_t *starts, uint64_t *ends, int max);
#endif /* __linux__ */

/* ---- Volatile MMIO accessors for mapped BARs (one access of the given width). */
static inline uint8_t husk_mmio_read8(const void *p) { return *(const volatile uint8_t *)p; }
static inline uint16_t husk_mmio_read16(const void *p) { return *(const volatile uint16_t *)p; }
static inline uint32_t husk_mmio_read32(const void *p) { return *(const volatile uint32_t *)p; }
static inline uint64_t husk_mmio_read64(const void *p) { return *(const volatile uint64_t *)p; }
static inline void husk_mmio_write8(void *p, uint8_t v) { *(volatile uint8_t *)p = v; }
static inline void husk_mmio_write16(void *p, uint16_t v) { *(volatile uint16_t *)p = v; }
static inline void husk_mmio_write32(void *p, uint32_t v) { *(volatile uint32_t *)p = v; }
static inline void husk_mmio_write64(void *p, uint64_t v) { *(volatile uint64_t *)p = v; }

#endif
