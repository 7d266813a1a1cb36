/* The reference: a minimal C ptrace tracer doing the same work per hit as stapy's fast path.
   usage: mini_tracer MODE ADDR prog args...   MODE 0 empty, 1 counter, 2 user string read.
   At the exec stop it writes int3 at ADDR (a non-PIE `push %rbp`); per hit: waitpid, GETREGS,
   check the address, (count | read the string at rdi with process_vm_readv), emulate the push
   (POKEDATA + SETREGS), PTRACE_CONT. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int mode = atoi(argv[1]);
    unsigned long addr = strtoul(argv[2], 0, 0);
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execv(argv[3], argv + 3);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    long word = ptrace(PTRACE_PEEKTEXT, pid, addr, 0);
    if ((word & 0xff) != 0x55) { fprintf(stderr, "not push %%rbp\n"); return 1; }
    ptrace(PTRACE_POKETEXT, pid, addr, (word & ~0xffL) | 0xcc);
    ptrace(PTRACE_CONT, pid, 0, 0);
    long count = 0;
    char buf[64];
    struct user_regs_struct r;
    for (;;) {
        pid_t t = waitpid(-1, &st, __WALL);
        if (t < 0) break;
        if (WIFEXITED(st) || WIFSIGNALED(st)) { if (t == pid) break; continue; }
        ptrace(PTRACE_GETREGS, t, 0, &r);
        if (WSTOPSIG(st) != SIGTRAP || r.rip - 1 != addr) { ptrace(PTRACE_CONT, t, 0, WSTOPSIG(st)); continue; }
        if (mode == 1) count++;
        if (mode == 2) {
            struct iovec l = {buf, sizeof buf}, rm = {(void *)r.rdi, sizeof buf};
            if (process_vm_readv(t, &l, 1, &rm, 1, 0) > 0) count++;
        }
        r.rsp -= 8;
        ptrace(PTRACE_POKEDATA, t, r.rsp, r.rbp);
        r.rip = addr + 1;
        ptrace(PTRACE_SETREGS, t, 0, &r);
        ptrace(PTRACE_CONT, t, 0, 0);
    }
    fprintf(stderr, "hits %ld\n", count);
    return 0;
}
