/*
 * switch.S — the context switch of the cooperative scheduler.
 *
 * void ctx_switch(uint64_t *save_rsp, uint64_t new_rsp): push the
 * callee-saved registers, store %rsp, load the other thread's %rsp, pop its
 * registers and return into it. A switch is an ordinary call, so the SysV
 * ABI's caller-saved registers (SSE included) need no saving.
 *
 * ctx_first: where a new thread's first switch returns to (sched.c builds
 * its stack): align the stack and call sched_thread_main(), which never
 * returns.
 */
    .text
    .globl ctx_switch
ctx_switch:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

    .globl ctx_first
ctx_first:
    and $-16, %rsp
    call sched_thread_main
    ud2
