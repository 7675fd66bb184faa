/*
 * vectors.S — one entry stub per vector for the IDT (intr.c fills it). Each
 * stub pushes a zero where the CPU pushes no error code, then the vector
 * number, saves the registers the SysV ABI lets a C function clobber, calls
 * intr_dispatch(vector, frame) and returns with iretq. Interrupts are taken
 * only inside the scheduler's sti window (sched.c), on kernel code built
 * with -mno-red-zone; intr.c is built with -mgeneral-regs-only, so the SSE
 * registers need no saving.
 */
    .text
    .p2align 4
intr_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov 72(%rsp), %rdi          /* vector */
    lea 72(%rsp), %rsi          /* frame: vector, error code, rip, cs, rflags, rsp, ss */
    call intr_dispatch
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp               /* vector and error code */
    iretq

/* Vectors 8, 10-14, 17, 21, 29, 30 come with an error code from the CPU. */
.macro stub n
    .p2align 4
intr_stub_\n:
    .if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
    .else
    push $0
    .endif
    push $\n
    jmp intr_common
.endm

.altmacro
.set i, 0
.rept 256
    stub %i
    .set i, i + 1
.endr

/* The stubs' addresses, for intr.c. */
.macro addr n
    .quad intr_stub_\n
.endm
    .section .rodata
    .p2align 3
    .globl intr_stubs
intr_stubs:
.set i, 0
.rept 256
    addr %i
    .set i, i + 1
.endr
