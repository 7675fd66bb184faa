/* Compile-time checks that the ABI's layout is what docs/hypercall-abi.md
 * says: slots are appended, never moved. A change here is an ABI break. */
#include "husk/hypercall.h"

_Static_assert(sizeof(void *) == 8, "the v1 ABI is defined for 64-bit hosts");
_Static_assert(__builtin_offsetof(struct husk_hyp, features) == 16, "header layout");
_Static_assert(__builtin_offsetof(struct husk_hyp, mem_alloc) == 32, "first slot");
_Static_assert(sizeof(struct husk_blk_req) == 64, "blk request layout");
_Static_assert(sizeof(struct husk_dma_buf) == 32, "dma buffer layout");
_Static_assert(sizeof(struct husk_pci_id) == 48, "pci id layout");
_Static_assert(sizeof(struct husk_frame_info) == 12, "frame info layout");
_Static_assert(__builtin_offsetof(struct husk_hyp, frame_open) == 552, "ABI 1.1 slots follow the 1.0 table");

/* The host's build of the table size, for hosts written in other languages. */
const uint32_t husk_abi_table_size = sizeof(struct husk_hyp);
