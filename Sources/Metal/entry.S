/*
 * entry.S — entry from QEMU's PVH boot (the ELF note below: QEMU's -kernel
 * and libvirt's <kernel> accept an ELF with XEN_ELFNOTE_PHYS32_ENTRY).
 * We arrive in 32-bit protected mode, paging off, %ebx = the physical
 * address of struct hvm_start_info. We clear .bss, identity-map the first
 * 4 GiB with 2 MiB pages (the top 1 GiB uncached: MMIO), enable SSE, enter
 * long mode and call kmain(start_info) on the boot stack.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

    .section .note.pvh, "a", @note
    .p2align 2
    .long 4                         /* namesz: "Xen\0" */
    .long 4                         /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long pvh_start                 /* 32-bit physical entry */

    .section .boot, "ax"
    .code32
    .globl pvh_start
pvh_start:
    cli
    cld
    mov %ebx, %esi                  /* keep start_info across the clearing */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov %esi, boot_start_info

    /* PD entries: 2048 x 2 MiB = 4 GiB; >= 3 GiB gets PCD|PWT. */
    mov $boot_pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                  /* present, writable, 2 MiB page */
    cmp $1536, %ecx
    jb 2f
    or $0x18, %eax                  /* PWT | PCD */
2:  mov %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 1b
    /* PDPT[0..3] -> the four PDs; PML4[0] -> PDPT. */
    mov $boot_pdpt, %edi
    mov $boot_pd + 3, %eax
    xor %ecx, %ecx
3:  mov %eax, (%edi,%ecx,8)
    add $4096, %eax
    inc %ecx
    cmp $4, %ecx
    jb 3b
    mov $boot_pdpt + 3, %eax
    mov %eax, boot_pml4

    lgdt boot_gdt_ptr
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax   /* PAE, OSFXSR, OSXMMEXCPT */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx           /* EFER */
    rdmsr
    or $(1 << 8), %eax              /* LME */
    wrmsr
    mov %cr0, %eax
    and $~(1 << 2), %eax            /* EM off: SSE usable */
    or $((1 << 31) | (1 << 1) | 1), %eax /* PG, MP, PE */
    mov %eax, %cr0
    ljmp $0x08, $long_start

    .code64
long_start:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    lea boot_stack_top(%rip), %rsp
    mov boot_start_info(%rip), %edi
    call kmain
4:  hlt
    jmp 4b

    .section .rodata
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: data */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .p2align 12
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4 * 4096
    .p2align 4
boot_stack: .skip 65536
boot_stack_top:
    .p2align 2
    .globl boot_start_info
boot_start_info: .skip 4
