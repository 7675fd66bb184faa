/*
 * edu_regs.h — the register map of QEMU's edu device (QEMU
 * docs/specs/edu.rst), as this driver uses it. BAR0 is 1 MiB of MMIO;
 * registers below 0x80 take 4-byte accesses only, the DMA registers 4 or 8.
 */
#ifndef EDU_REGS_H
#define EDU_REGS_H

#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8

#define EDU_REG_ID          0x00 /* RO: 0xRRrr00ed, RR.rr = version */
#define EDU_ID_MAGIC_MASK   0xffffu
#define EDU_ID_MAGIC        0x00edu
#define EDU_REG_LIVENESS    0x04 /* RW: reads back the bitwise inverse */
#define EDU_REG_FACTORIAL   0x08 /* RW: not used by this driver */
#define EDU_REG_STATUS      0x20 /* RW: 0x01 computing, 0x80 irq on factorial */
#define EDU_REG_IRQ_STATUS  0x24 /* RO: bits of the raised interrupts */
#define EDU_REG_IRQ_RAISE   0x60 /* WO: OR bits into IRQ_STATUS, raise */
#define EDU_REG_IRQ_ACK     0x64 /* WO: clear bits of IRQ_STATUS */
#define EDU_REG_DMA_SRC     0x80
#define EDU_REG_DMA_DST     0x88
#define EDU_REG_DMA_COUNT   0x90
#define EDU_REG_DMA_CMD     0x98
#define EDU_DMA_START       0x1u
#define EDU_DMA_FROM_DEVICE 0x2u /* direction: 0 RAM -> edu, 1 edu -> RAM */
#define EDU_DMA_IRQ         0x4u /* raise EDU_IRQ_DMA when finished */

#define EDU_IRQ_DMA      0x100u /* IRQ_STATUS bit of a finished DMA */
#define EDU_IRQ_SELFTEST 0x1u   /* what attach raises to test delivery */

#define EDU_BUF_ADDR  0x40000u     /* device-side DMA buffer... */
#define EDU_BUF_SIZE  4096u        /* ...and its size */
#define EDU_DMA_LIMIT (1ull << 28) /* default dma_mask: 28 address bits */

#endif
