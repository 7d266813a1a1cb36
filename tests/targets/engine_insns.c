/* Probed first instructions of every resume kind: each function below starts with the
   instruction its name says; main checks the results and exits 0 only if all are right. */
#include <stdio.h>

long helper(long x) { return x + 100; }
long (*volatile helper_ptr)(long) = helper;
long value = 7;

long i_call(long x);   /* call rel32 as first instruction */
long i_jmp(long x);    /* jmp rel32 */
long i_jcc(long x);    /* jcc rel8: taken when x == 0 */
long i_icall(long x);  /* call *helper_ptr(%rip) */
long i_lea(long x);    /* lea value(%rip),%rax */
long i_push(long x);   /* push %r12 */
long i_sub(long x);    /* sub $0x1000,%rsp */
long i_ret(long x);    /* ret */
long i_mov(long x);    /* mov value(%rip),%rax */
long i_vex(long x);    /* vmovq value(%rip),%xmm0: VEX + RIP-relative, out of line via a scratch register */

asm(".text\n"
    ".globl i_call\ni_call: call helper\n add $1, %rax\n ret\n"
    ".globl i_jmp\ni_jmp: jmp helper\n"
    ".globl i_jcc\ni_jcc: test %rdi, %rdi\n .globl i_jcc_j\ni_jcc_j: je 1f\n mov $5, %rax\n ret\n1: mov $6, %rax\n ret\n"
    ".globl i_icall\ni_icall: sub $8, %rsp\n .globl i_icall_c\ni_icall_c: call *helper_ptr(%rip)\n add $8, %rsp\n ret\n"
    ".globl i_lea\ni_lea: lea value(%rip), %rax\n mov (%rax), %rax\n add %rdi, %rax\n ret\n"
    ".globl i_push\ni_push: push %r12\n mov %rdi, %r12\n lea 3(%r12), %rax\n pop %r12\n ret\n"
    ".globl i_sub\ni_sub: sub $0x1000, %rsp\n lea 4(%rdi), %rax\n add $0x1000, %rsp\n ret\n"
    ".globl i_ret\ni_ret: ret\n"
    ".globl i_mov\ni_mov: mov value(%rip), %rax\n add %rdi, %rax\n ret\n"
    ".globl i_vex\ni_vex: vmovq value(%rip), %xmm0\n vmovq %xmm0, %rax\n add %rdi, %rax\n ret\n");

int main(void) {
    int bad = 0;
    for (int round = 0; round < 3; round++) {
        if (i_call(1) != 102) bad |= 1;
        if (i_jmp(2) != 102) bad |= 2;
        if (i_jcc(0) != 6 || i_jcc(1) != 5) bad |= 4;
        if (i_icall(3) != 103) bad |= 8;
        if (i_lea(4) != 11) bad |= 16;
        if (i_push(5) != 8) bad |= 32;
        if (i_sub(6) != 10) bad |= 64;
        i_ret(0);
        if (i_mov(8) != 15) bad |= 128;
        if (i_vex(9) != 16) bad |= 256;
    }
    printf("bad=%d\n", bad);
    return bad;
}
