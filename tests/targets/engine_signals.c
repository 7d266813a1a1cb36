/* The program's own signals: its SIGTRAP (raise and a literal int3) and a SIGSEGV raised by
   the first instruction of a probed function (displaced into the XOL area) reach its handlers. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile int traps, segvs;
static volatile void *fault_addr;
static sigjmp_buf env;

static void on_trap(int s) { traps++; }
static void on_segv(int s, siginfo_t *si, void *uc) { segvs++; fault_addr = si->si_addr; siglongjmp(env, 1); }

long loadit(long *p);
asm(".text\n.globl loadit\nloadit: mov (%rdi), %rax\n ret\n");
volatile long sink;
__attribute__((noinline)) long f(long x) { sink += x; return x + 1; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_trap;
    sigaction(SIGTRAP, &sa, 0);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    f(1);
    raise(SIGTRAP);
    asm volatile("int3");
    long v = 5;
    long ok = loadit(&v);
    if (sigsetjmp(env, 1) == 0) loadit((long *)16);
    f(2);
    printf("traps=%d segvs=%d addr=%p ok=%ld\n", traps, segvs, fault_addr, ok);
    return !(traps == 2 && segvs == 1 && fault_addr == (void *)16 && ok == 5);
}
