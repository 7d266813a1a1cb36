"""Differential testing of stapy's engine against bpftrace (an independent tracer) on real programs.

    python3 bench/differential.py [-k NAME] [-v]

A dev tool, not part of the test suite (it needs bpftrace and root).  Every case is a C program
built with gcc at several optimisation levels; it prints its own ground truth (`truth KEY VALUE`
lines, computed by the program itself).  The same probes run under bpftrace (uprobe/uretprobe:
count(), sum(argN), sum(retval), count() by str(argN)) and under stapy (`python3 -m stapy -e ...
-c ...`), both printing `@KEY: VALUE` / `@KEY[STR]: VALUE` lines; the harness compares the three.
A mismatch lists every side; where the program printed a truth for the key, that decides who is right.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# --- the targets --------------------------------------------------------------------------------
# Each program prints `truth KEY VALUE` for what it can count itself (KEY as the probes' keys).

RECUR = r"""
#include <stdio.h>
long calls, argsum, retsum;
__attribute__((noinline)) long fib(long n) {
    calls++; argsum += n;
    long r = n < 2 ? n : fib(n - 1) + fib(n - 2);
    retsum += r; return r;
}
int main(void) {
    long t = 0;
    for (int i = 0; i < 5; i++) t += fib(15 + i % 3);
    printf("truth fib_n %ld\ntruth fib_a0 %ld\ntruth fib_r %ld\ntruth fib_rn %ld\n", calls, argsum, retsum, calls);
    return t == 0;
}
"""

THREADS = r"""
#include <pthread.h>
#include <stdio.h>
#define NT 8
#define CALLS 20000
volatile long sink;
__attribute__((noinline)) long work(long x) { sink += x; return x & 7; }
static void *run(void *p) {
    long id = (long)p;
    for (long i = 0; i < CALLS; i++) work(id * CALLS + i);
    return 0;
}
int main(void) {
    pthread_t t[NT];
    for (long i = 0; i < NT; i++) pthread_create(&t[i], 0, run, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], 0);
    long n = (long)NT * CALLS, a = 0, r = 0;
    for (long i = 0; i < n; i++) { a += i; r += i & 7; }
    printf("truth work_n %ld\ntruth work_a0 %ld\ntruth work_r %ld\ntruth work_rn %ld\n", n, a, r, n);
    return 0;
}
"""

FORKEXEC = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
volatile long sink;
__attribute__((noinline)) long step(long x) { sink += x; return x + 1; }
static void calls(long k, long n) { for (long i = 0; i < n; i++) step(k); }
int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "child") == 0) { calls(atol(argv[2]), 100); return 0; }
    /* parent: 50 calls; 3 fork+exec children (100 calls each, arg k); 2 plain fork children (70 calls, arg 1000) */
    calls(1, 50);
    long n = 50, a = 50, r = 100;
    for (long k = 2; k < 5; k++) {
        pid_t p = fork();
        if (p == 0) { char b[16]; snprintf(b, sizeof b, "%ld", k); execl(argv[0], argv[0], "child", b, (char *)0); _exit(127); }
        waitpid(p, 0, 0);
        n += 100; a += 100 * k; r += 100 * (k + 1);
    }
    for (int j = 0; j < 2; j++) {
        pid_t p = fork();
        if (p == 0) { calls(1000, 70); _exit(0); }
        waitpid(p, 0, 0);
        n += 70; a += 70 * 1000; r += 70 * 1001;
    }
    printf("truth step_n %ld\ntruth step_a0 %ld\ntruth step_r %ld\ntruth step_rn %ld\n", n, a, r, n);
    return 0;
}
"""

LIB = r"""
volatile long lsink;
long lf(long x) { lsink += x; return x * 3; }
long lstr(const char *s) { long n = 0; while (s[n]) n++; return n; }
"""

USELIB = r"""
#include <stdio.h>
long lf(long x);
long lstr(const char *s);
int main(void) {
    const char *w[] = {"alpha", "beta", "gamma", "", "a somewhat longer string with spaces"};
    long a = 0, r = 0, sl = 0;
    for (long i = 0; i < 300; i++) { r += lf(i); a += i; }
    for (int i = 0; i < 50; i++) sl += lstr(w[i % 5]);
    printf("truth lf_n 300\ntruth lf_a0 %ld\ntruth lf_r %ld\ntruth lstr_n 50\ntruth lstr_r %ld\n", a, r, sl);
    for (int i = 0; i < 5; i++) printf("truth lstr_s0[%s] 10\n", w[i]);
    return 0;
}
"""

STRINGS = r"""
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
__attribute__((noinline)) long name(const char *s, long k) { return (long)strlen(s) + k; }
int main(void) {
    char buf[64];
    long r = 0, a = 0;
    char *heap = malloc(32); strcpy(heap, "on-the-heap");
    for (int i = 0; i < 40; i++) {
        snprintf(buf, sizeof buf, "iter-%d", i % 4);
        r += name(buf, i); a += (long)buf & 0;
        r += name(heap, 1);
        r += name("literal", 2);
    }
    printf("truth name_n 120\ntruth name_r %ld\n", r);
    printf("truth name_s0[iter-0] 10\ntruth name_s0[on-the-heap] 40\ntruth name_s0[literal] 40\n");
    return 0;
}
"""

# Functions whose first instruction is not the usual prologue (written in assembly, so every
# optimisation level keeps them): a load through the first argument, a jump, a rip-relative load,
# a call, a push of a callee-saved register, a bare ret, a read of the return address, a conditional
# jump on flags set by the first instruction, and a multi-byte nop.
ODDFIRST = r"""
#include <stdio.h>
long gval = 40;
long load_first(long *p);
long jmp_first(long x);
long rip_first(long x);
long call_first(long x);
long push_first(long x);
long ret_first(long x);
long cmp_first(long x);
long nop_first(long x);
long retaddr_first(long x);
asm(".text\n"
    ".globl load_first\n.type load_first,@function\nload_first:\n mov (%rdi),%eax\n ret\n.size load_first,.-load_first\n"
    ".globl jmp_first\n.type jmp_first,@function\njmp_first:\n jmp 1f\n ud2\n1: lea 1(%rdi),%rax\n ret\n.size jmp_first,.-jmp_first\n"
    ".globl rip_first\n.type rip_first,@function\nrip_first:\n mov gval(%rip),%rax\n add %rdi,%rax\n ret\n.size rip_first,.-rip_first\n"
    "helper_one:\n mov $1,%eax\n ret\n"
    ".globl call_first\n.type call_first,@function\ncall_first:\n call helper_one\n add %rdi,%rax\n ret\n.size call_first,.-call_first\n"
    ".globl push_first\n.type push_first,@function\npush_first:\n push %rbx\n mov %rdi,%rbx\n lea 3(%rbx),%rax\n pop %rbx\n ret\n.size push_first,.-push_first\n"
    ".globl ret_first\n.type ret_first,@function\nret_first:\n ret\n.size ret_first,.-ret_first\n"
    ".globl cmp_first\n.type cmp_first,@function\ncmp_first:\n cmp $5,%rdi\n jl 2f\n mov $100,%eax\n ret\n2: mov $7,%eax\n ret\n.size cmp_first,.-cmp_first\n"
    ".globl nop_first\n.type nop_first,@function\nnop_first:\n nopl 0x0(%rax,%rax,1)\n lea 2(%rdi),%rax\n ret\n.size nop_first,.-nop_first\n"
    ".globl retaddr_first\n.type retaddr_first,@function\nretaddr_first:\n mov (%rsp),%rax\n sub %rax,%rax\n add %rdi,%rax\n ret\n.size retaddr_first,.-retaddr_first\n"
    );
int main(void) {
    long v[1] = {0};
    long n = 200, s_load = 0, s_jmp = 0, s_rip = 0, s_call = 0, s_push = 0, s_cmp = 0, s_nop = 0, s_ra = 0, a = 0;
    for (long i = 0; i < n; i++) {
        v[0] = i * 5;
        s_load += (int)load_first(v);
        s_jmp += jmp_first(i); s_rip += rip_first(i); s_call += call_first(i);
        s_push += push_first(i); ret_first(i); s_cmp += cmp_first(i % 10); s_nop += nop_first(i);
        s_ra += retaddr_first(i); a += i;
    }
    printf("truth load_first_r %ld\ntruth jmp_first_r %ld\ntruth rip_first_r %ld\ntruth call_first_r %ld\n", s_load, s_jmp, s_rip, s_call);
    printf("truth push_first_r %ld\ntruth cmp_first_r %ld\ntruth nop_first_r %ld\ntruth retaddr_first_r %ld\n", s_push, s_cmp, s_nop, s_ra);
    const char *fs[] = {"load_first", "jmp_first", "rip_first", "call_first", "push_first", "ret_first", "cmp_first", "nop_first", "retaddr_first"};
    for (int k = 0; k < 9; k++) printf("truth %s_n %ld\ntruth %s_rn %ld\n", fs[k], n, fs[k], n);
    for (int k = 1; k < 9; k++) if (k != 6) printf("truth %s_a0 %ld\n", fs[k], a);
    printf("truth cmp_first_a0 %ld\n", 20 * 45L);
    return 0;
}
"""

LONGJMP = r"""
#include <setjmp.h>
#include <stdio.h>
jmp_buf jb;
volatile long sink;
__attribute__((noinline)) long deep(long n) { if (n == 0) longjmp(jb, 1); long r = deep(n - 1) + 1; sink += r; return r; }
__attribute__((noinline)) long after(long x) { sink += x; return x + 1; }
int main(void) {
    long r = 0, dn = 0;
    for (long i = 0; i < 300; i++) {
        if (!setjmp(jb)) deep(4);
        dn += 5;
        r += after(i);
    }
    printf("truth deep_n %ld\ntruth deep_rn 0\ntruth after_n 300\ntruth after_rn 300\ntruth after_r %ld\n", dn, r);
    return 0;
}
"""

TAILCALL = r"""
#include <stdio.h>
volatile long sink;
__attribute__((noinline)) long tb(long x) { sink += x; return x * 2; }
__attribute__((noinline)) long ta(long x) { return tb(x + 1); }   /* -O2: jmp tb (the slot is reused) */
int main(void) {
    long r = 0, a = 0, n = 500;
    for (long i = 0; i < n; i++) { r += ta(i); a += i; }
    printf("truth ta_n %ld\ntruth ta_rn %ld\ntruth tb_n %ld\ntruth tb_rn %ld\n", n, n, n, n);
    printf("truth ta_a0 %ld\ntruth tb_a0 %ld\ntruth ta_r %ld\ntruth tb_r %ld\n", a, a + n, r, r);
    return 0;
}
"""

SIGNALS = r"""
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
long gv = 3;
volatile long sink, inh;
long ripf(long x);
asm(".text\n.globl ripf\n.type ripf,@function\nripf:\n mov gv(%rip),%rax\n add %rdi,%rax\n ret\n.size ripf,.-ripf\n");
__attribute__((noinline)) long sigf(long x) { sink += x; return x + 1; }
static void h(int s) { inh++; sigf(1000); ripf(1000); }
int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = h;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 5000}, {0, 5000}};  /* ITIMER_REAL: a handler costs ~6 stops; a denser timer livelocks any ptrace tracer when stops are slow */
    setitimer(ITIMER_REAL, &it, 0);
    long n = 20000, a = 0, r = 0, rr = 0;
    for (long i = 0; i < n; i++) { r += sigf(i); rr += ripf(i); a += i; }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    long k = inh;
    printf("truth sigf_n %ld\ntruth sigf_rn %ld\ntruth sigf_a0 %ld\ntruth sigf_r %ld\n", n + k, n + k, a + 1000 * k, r + n * 0 + 1001 * k);
    printf("truth ripf_n %ld\ntruth ripf_rn %ld\ntruth ripf_a0 %ld\ntruth ripf_r %ld\n", n + k, n + k, a + 1000 * k, rr + 1003 * k);
    fprintf(stderr, "signals handled: %ld\n", k);
    return 0;
}
"""

DLOPEN = r"""
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s.so", argv[0]);
    long r = 0, a = 0, n = 0;
    for (int round = 0; round < 3; round++) {
        void *h = dlopen(path, RTLD_NOW);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        long (*lf)(long) = (long (*)(long))dlsym(h, "lf");
        for (long i = 0; i < 100 + round; i++) { r += lf(i); a += i; n++; }
        dlclose(h);
    }
    printf("truth lf_n %ld\ntruth lf_a0 %ld\ntruth lf_r %ld\n", n, a, r);
    return 0;
}
"""

VFORK = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
volatile long sink;
__attribute__((noinline)) long step(long x) { sink += x; return x + 1; }
int main(int argc, char **argv) {
    if (argc > 2) { for (int i = 0; i < 40; i++) step(atol(argv[2])); return 0; }
    long n = 0, a = 0, r = 0;
    for (long k = 1; k <= 4; k++) {
        step(k); n++; a += k; r += k + 1;
        char b[16]; snprintf(b, sizeof b, "%ld", k);
        pid_t p = vfork();
        if (p == 0) { execl(argv[0], argv[0], "child", b, (char *)0); _exit(127); }
        waitpid(p, 0, 0);
        n += 40; a += 40 * k; r += 40 * (k + 1);
    }
    printf("truth step_n %ld\ntruth step_rn %ld\ntruth step_a0 %ld\ntruth step_r %ld\n", n, n, a, r);
    return 0;
}
"""

CXXTHROW = r"""
#include <cstdio>
volatile long sink;
__attribute__((noinline)) long thrower(long n) { if (n == 0) throw n; long r = thrower(n - 1) + 1; sink += r; return r; }
__attribute__((noinline)) long plain(long x) { sink += x; return x + 2; }
__attribute__((noinline)) long catcher(long i) { try { return thrower(3 + i % 3); } catch (long) { return plain(i); } }
int main() {
    long r = 0, pr = 0, n = 300, tn = 0;
    for (long i = 0; i < n; i++) { r += catcher(i); pr += i + 2; tn += 4 + i % 3; }
    printf("truth catcher_n %ld\ntruth catcher_rn %ld\ntruth catcher_r %ld\ntruth plain_rn %ld\ntruth plain_r %ld\n", n, n, r, n, pr);
    printf("truth thrower_n %ld\ntruth thrower_rn 0\n", tn);
    return 0;
}
"""

# Every instruction of mix() probed (bpftrace `uprobe:prog:mix+OFF`, stapy `.statement(ADDR)`):
# every displaced-instruction kind gcc emits in a loop with a jump table, rip-relative globals,
# calls and divisions runs out of line, and the program's checksum must not change.
EVERYINSN = r"""
#include <stdio.h>
long table[8] = {3, 1, 4, 1, 5, 9, 2, 6};
volatile long vsink;
__attribute__((noinline)) long helper(long x) { vsink += x; return x ^ 0x55; }
__attribute__((noinline)) long mix(long n, const char *s) {
    long acc = 0;
    for (long i = 0; i < n; i++) {
        switch ((i + s[i % 5]) % 7) {
        case 0: acc += table[i & 7]; break;
        case 1: acc ^= helper(i); break;
        case 2: acc = acc * 31 + s[i % 5]; break;
        case 3: acc -= i / (1 + (acc & 3)); break;
        case 4: acc += (acc >> 3) % 17; break;
        case 5: acc |= 1L << (i & 15); break;
        default: acc += table[(acc & 7)] * 2; break;
        }
    }
    return acc;
}
int main(void) {
    long c = 0;
    for (long k = 0; k < 40; k++) c = c * 7 + mix(25 + k % 3, "hello");
    printf("truth mix_checksum %ld\n", c);
    return 0;
}
"""

# fork() inside functions with return probes: the child returns through a hijacked return address
# too (its copy of the stack holds the trampoline), from a thread as well as from the main thread.
FORKINSIDE = r"""
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
volatile long sink;
__attribute__((noinline)) long inner(long x) { pid_t p = fork(); if (p == 0) return x + 1000; waitpid(p, 0, 0); return x; }
__attribute__((noinline)) long outer(long x) { long r = inner(x); if (r >= 1000) _exit(0 * (int)(sink += r)); return r + 1; }
static void *th(void *a) { for (long i = 0; i < 5; i++) outer(100 + i); return 0; }
int main(void) {
    for (long i = 0; i < 10; i++) outer(i);
    pthread_t t; pthread_create(&t, 0, th, 0); pthread_join(t, 0);
    long in_r = 0, out_r = 0;
    for (long i = 0; i < 10; i++) { in_r += i + (i + 1000); out_r += i + 1; }
    for (long i = 100; i < 105; i++) { in_r += i + (i + 1000); out_r += i + 1; }
    printf("truth inner_n 15\ntruth inner_rn 30\ntruth inner_r %ld\ntruth outer_n 15\ntruth outer_rn 15\ntruth outer_r %ld\n", in_r, out_r);
    return 0;
}
"""

# A linked library whose constructor calls the probed function before main: uprobes (stap, bpftrace) are
# registered on the file and see those calls too.
LIBCTOR = LIB + r"""
__attribute__((constructor)) static void lib_ctor(void) { for (long i = 1; i <= 7; i++) lf(1000 * i); }
"""

USELIBCTOR = r"""
#include <stdio.h>
long lf(long x);
int main(void) {
    long a = 28000, r = 3 * 28000;
    for (long i = 0; i < 300; i++) { r += lf(i); a += i; }
    printf("truth lf_n 307\ntruth lf_a0 %ld\ntruth lf_r %ld\n", a, r);
    return 0;
}
"""

# name -> (sources, probes).  probes: (function, metrics, library-or-None); metrics from
# n (entry count), a0 (sum of arg0), r (sum of the return value), rn (return count), s0 (count by str(arg0)).
CASES = {
    "recur": ({"main.c": RECUR}, [("fib", "n a0 r rn", None)]),
    "threads": ({"main.c": THREADS}, [("work", "n a0 r rn", None)]),
    "forkexec": ({"main.c": FORKEXEC}, [("step", "n a0 r rn", None)]),
    "sharedlib": ({"main.c": USELIB, "lib.c": LIB}, [("lf", "n a0 r", "lib"), ("lstr", "n r s0", "lib")]),
    "strings": ({"main.c": STRINGS}, [("name", "n r s0", None)]),
    "oddfirst": ({"main.c": ODDFIRST}, [(f, "n a0 r rn" if f not in ("load_first", "ret_first") else "n rn", None) for f in (
        "load_first", "jmp_first", "rip_first", "call_first", "push_first", "ret_first", "cmp_first",
        "nop_first", "retaddr_first")]),
    "longjmp": ({"main.c": LONGJMP}, [("deep", "n rn", None), ("after", "n r rn", None)]),
    "everyinsn": ({"main.c": EVERYINSN}, [("mix", "every", None)]),
    "forkinside": ({"main.c": FORKINSIDE}, [("inner", "n r rn", None), ("outer", "n r rn", None)]),
    "tailcall": ({"main.c": TAILCALL}, [("ta", "n a0 r rn", None), ("tb", "n a0 r rn", None)]),
    "signals": ({"main.c": SIGNALS}, [("sigf", "n a0 r rn", None), ("ripf", "n a0 r rn", None)]),
    "dlopen": ({"main.c": DLOPEN, "dl.c": LIB}, [("lf", "n a0 r", "lib")]),
    "libctor": ({"main.c": USELIBCTOR, "lib.c": LIBCTOR}, [("lf", "n a0 r", "lib")]),
    "vfork": ({"main.c": VFORK}, [("step", "n a0 r rn", None)]),
    "cxxthrow": ({"main.cc": CXXTHROW}, [("catcher", "n r rn", None), ("plain", "r rn", None),
                                         ("thrower", "n rn", None)]),
}
OPTS = {"O0": ["-O0"], "O2": ["-O2"], "O2-cet": ["-O2", "-fcf-protection=full"], "O2-nopie": ["-O2", "-no-pie"]}


def build(case: str, opt: str, tmp: Path) -> tuple[Path, Path | None]:
    srcs, _ = CASES[case]
    d = tmp / f"{case}-{opt}"
    d.mkdir(parents=True, exist_ok=True)
    flags = OPTS[opt] + ["-g"]
    exe = d / "prog"
    lib = None
    if "lib.c" in srcs or "dl.c" in srcs:
        (d / "lib.c").write_text(srcs.get("lib.c") or srcs["dl.c"])
        lib = d / ("libdt.so" if "lib.c" in srcs else "prog.so")   # dlopen case: argv[0] + ".so"
        subprocess.run(["gcc", *flags, "-fPIC", "-shared", "-o", str(lib), str(d / "lib.c")], check=True)
    main = "main.cc" if "main.cc" in srcs else "main.c"
    (d / main).write_text(srcs[main])
    extra = [str(lib), f"-Wl,-rpath,{d}"] if lib and "lib.c" in srcs else []
    cc = "g++" if main == "main.cc" else "gcc"
    subprocess.run([cc, *flags, "-o", str(exe), str(d / main), *extra, "-lpthread", "-ldl"], check=True)
    return exe, lib


def insn_offsets(exe: Path, fn: str) -> list[tuple[int, int]]:
    """(offset, link-time address) of every instruction of fn, from capstone over the ELF bytes."""
    import capstone
    from elftools.elf.elffile import ELFFile
    with open(exe, "rb") as f:
        e = ELFFile(f)
        sym = next(x for x in e.get_section_by_name(".symtab").iter_symbols() if x.name == fn)
        text = e.get_section_by_name(".text")
        off = sym["st_value"] - text["sh_addr"] + text["sh_offset"]
        f.seek(off)
        code = f.read(sym["st_size"])
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    return [(i.address - sym["st_value"], i.address) for i in md.disasm(code, sym["st_value"])]


def bpftrace_script(probes, exe: Path, lib: Path | None) -> str:
    out = []
    for fn, metrics, where in probes:
        path = lib if where == "lib" else exe
        m = metrics.split()
        if m == ["every"]:
            # bpftrace 0.17 here cannot probe at an offset ("compiled without (k|u)probe offset
            # support"): only the entry is compared; the other offsets are checked by the checksum
            out.append(f"uprobe:{path}:{fn} {{ @{fn}_i0 = count(); }}")
            continue
        entry = []
        if "n" in m:
            entry.append(f"@{fn}_n = count();")
        if "a0" in m:
            entry.append(f"@{fn}_a0 = sum(arg0);")
        if "s0" in m:
            entry.append(f"@{fn}_s0[str(arg0)] = count();")
        if entry:
            out.append(f"uprobe:{path}:{fn} {{ {' '.join(entry)} }}")
        ret = []
        if "r" in m:
            ret.append(f"@{fn}_r = sum(retval);")
        if "rn" in m:
            ret.append(f"@{fn}_rn = count();")
        if ret:
            out.append(f"uretprobe:{path}:{fn} {{ {' '.join(ret)} }}")
    return "\n".join(out)


def stapy_script(probes, exe: Path, lib: Path | None) -> str:
    glob, out, end = [], [], []
    for fn, metrics, where in probes:
        point = f'process("{lib}").function("{fn}")' if where == "lib" else f'process("{exe}").function("{fn}")'
        m = metrics.split()
        if m == ["every"]:
            for o, a in insn_offsets(lib if where == "lib" else exe, fn):
                glob.append(f"{fn}_i{o}")
                out.append(f'probe process("{exe}").statement({a:#x}) {{ {fn}_i{o}++ }}')
                end.append(f'if ({fn}_i{o}) printf("@{fn}_i{o}: %d\\n", {fn}_i{o})')
            continue
        entry, ret = [], []
        for k in m:
            glob.append(f"{fn}_{k}")
            if k == "s0":
                end.append(f'foreach (k in {fn}_s0) printf("@{fn}_s0[%s]: %d\\n", k, {fn}_s0[k])')
            else:
                end.append(f'if ({fn}_{k}) printf("@{fn}_{k}: %d\\n", {fn}_{k})')
        if "n" in m:
            entry.append(f"{fn}_n++")
        if "a0" in m:
            entry.append(f"{fn}_a0 += long_arg(1)")
        if "s0" in m:
            entry.append(f"{fn}_s0[user_string(pointer_arg(1))]++")
        if "r" in m:
            ret.append(f"{fn}_r += returnval()")
        if "rn" in m:
            ret.append(f"{fn}_rn++")
        if entry:
            out.append(f"probe {point} {{ {'; '.join(entry)} }}")
        if ret:
            out.append(f"probe {point}.return {{ {'; '.join(ret)} }}")
    return "global " + ", ".join(glob) + "\n" + "\n".join(out) + "\nprobe end {\n" + "\n".join(end) + "\n}\n"


LINE = re.compile(r"^@(\w+?)(?:\[(.*)\])?: (-?\d+)$")
TRUTH = re.compile(r"^truth (\w+?)(?:\[(.*)\])? (-?\d+)$")


def parse(text: str, rx=LINE) -> dict[str, int]:
    got = {}
    for line in text.splitlines():
        m = rx.match(line.strip())
        if m:
            key = m.group(1) + (f"[{m.group(2)}]" if m.group(2) is not None else "")
            got[key] = int(m.group(3))
    return got


def run_case(case: str, opt: str, tmp: Path, verbose: bool) -> list[str]:
    exe, lib = build(case, opt, tmp)
    probes = CASES[case][1]
    bt = subprocess.run(["bpftrace", "-e", bpftrace_script(probes, exe, lib), "-c", str(exe)],
                        capture_output=True, text=True, timeout=300, cwd=exe.parent)
    # -g: stap refuses a .statement(ADDR) that does not start a line record unless in guru mode (then it
    # warns once per address: -w)
    st = subprocess.run([sys.executable, "-m", "stapy", "-g", "-w", "-e", stapy_script(probes, exe, lib), "-c", str(exe)],
                        capture_output=True, text=True, timeout=300, cwd=ROOT)
    measured = {f"{fn}_{k}" for fn, metrics, _ in probes for k in metrics.split()} | {"mix_checksum"}

    def truth_of(out: str) -> dict[str, int]:   # each run's own truth (signal counts vary per run)
        return {k: v for k, v in parse(out, TRUTH).items() if k.split("[")[0] in measured}

    tb, ts = truth_of(bt.stdout), truth_of(st.stdout)
    plain = truth_of(subprocess.run([str(exe)], capture_output=True, text=True).stdout)
    checks = []
    for key in [k for k in plain if k.endswith("_checksum")]:   # tracing must not change the result
        sv_, bv_ = ts.pop(key, None), tb.pop(key, None)
        if sv_ != plain[key] or bv_ != plain[key]:
            checks.append(f"{key}: untraced {plain[key]}, under stapy {sv_}, under bpftrace {bv_}")
    b, s = parse(bt.stdout), parse(st.stdout)
    if verbose:
        print(f"--- {case} {opt}\n bpftrace: {b}\n stapy: {s}\n truth: {ts}")
        if st.stderr.strip():
            print(" stapy stderr:", st.stderr.strip()[:2000])
    problems = checks
    if st.returncode != 0:
        problems.append(f"stapy exit {st.returncode}: {st.stderr.strip()[-500:]}")
    if not parse(st.stdout, TRUTH):
        problems.append(f"the program printed no truth under stapy: {st.stdout[-300:]!r} {st.stderr[-300:]!r}")
    for key in sorted(set(b) | set(s) | set(ts) | set(tb)):
        if re.search(r"_i[1-9]\d*$", key):   # mid-function offsets: stapy only (see bpftrace_script)
            continue
        bv, sv = b.get(key, 0), s.get(key, 0)
        tbv, tsv = tb.get(key), ts.get(key)
        stapy_ok = sv == tsv if tsv is not None else None
        bpf_ok = bv == tbv if tbv is not None else None
        if stapy_ok is False or bpf_ok is False or (stapy_ok is None and bpf_ok is None and bv != sv):
            verdict = {(True, False): " stapy right", (False, True): " bpftrace right",
                       (False, False): " both wrong", (False, None): " stapy wrong"}.get((stapy_ok, bpf_ok), "")
            problems.append(f"{key}: bpftrace={bv} (its run's truth {tbv}) stapy={sv} (truth {tsv}){verdict}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", help="only cases whose name contains this")
    ap.add_argument("-O", dest="opt", help="only this build (O0, O2, O2-cet, O2-nopie)")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    if shutil.which("bpftrace") is None or os.geteuid() != 0:
        print("needs bpftrace and root")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="stapy-diff-"))
    bad = 0
    for case in CASES:
        if args.k and args.k not in case:
            continue
        for opt in OPTS:
            if args.opt and args.opt != opt:
                continue
            problems = run_case(case, opt, tmp, args.v)
            print(f"{case:<10} {opt:<9} {'ok' if not problems else 'MISMATCH'}")
            for p in problems:
                print("    " + p)
            bad += bool(problems)
    print(f"{bad} mismatching runs")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
