"""ns per call of five compiled handler bodies, each against the same work in C (gcc -O2), in one run.

    python3 bench/handlers.py [--n 100000] [--reps 25] [--only NAME]

Each stap body is compiled through the real passes 1-4, loaded as pass 5
loads it, and called from a tiny native driver loop (JIT-compiled) that resets
ctx->actions per hit as the runtime does; the C twin runs the same work in a
noinline function from a C loop.  Goal: ratio within 3x.  Each side's figure is its
best of many short loops, interleaved: on a shared machine the handlers' memory
traffic (context fields, stack slots) slows by up to 2x in spells of contention
that the register-only C loops hardly feel.
"""
from __future__ import annotations

import argparse
import ctypes
import io
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from llvmlite import binding as llvm  # noqa: E402
from llvmlite import ir  # noqa: E402

from stapy.codegen import abi  # noqa: E402
from stapy.codegen.irbuilder import CONTEXT_TYPE, HANDLER_TYPE, I32, I64, PTR, c32, c64  # noqa: E402

BODIES = {
    "long counter": ("global n; probe timer.s(1000) { n++ } probe end { println(n) }", "c_counter"),
    "string-keyed map increment": ('global m; probe timer.s(1000) { m["key"]++ } probe end { println(m["key"]) }',
                                   "c_map"),
    "stat <<<": ("global s; probe timer.s(1000) { s <<< 5 } probe end { println(@count(s)) }", "c_stat"),
    "sprintf of three values": ('global str; probe timer.s(1000) { str = sprintf("%d %s %x", 42, "abc", 255) } '
                                'probe end { println(str) }', "c_sprintf"),
    "5-level recursion": ("global t; function r(n) { if (n <= 0) return 0; return 1 + r(n - 1) } "
                          "probe timer.s(1000) { t += r(5) } probe end { println(t) }", "c_recurse"),
}

C_SOURCE = r"""
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#define NI __attribute__((noinline))
static int64_t n;
NI int c_counter_body(void) { n++; return 0; }
struct ent { char key[512]; int64_t v; int used; };
static struct ent table[2048];
static uint64_t hash(const char *s) { uint64_t h = 1469598103934665603ULL; while (*s) { h ^= (unsigned char)*s++; h *= 1099511628211ULL; } return h; }
NI int c_map_body(const char *k) {
  uint64_t i = hash(k) & 2047;
  for (;;) { struct ent *e = &table[i];
    if (!e->used) { strncpy(e->key, k, 511); e->used = 1; e->v = 1; return 0; }
    if (strcmp(e->key, k) == 0) { e->v++; return 0; }
    i = (i + 1) & 2047; }
}
struct stat { int64_t count, sum, min, max; };
static struct stat st;
NI int c_stat_body(int64_t v) {
  if (st.count == 0) { st.min = st.max = v; } else { if (v < st.min) st.min = v; if (v > st.max) st.max = v; }
  st.count++; st.sum += v; return 0;
}
static char str[512];
NI int c_sprintf_body(void) { snprintf(str, sizeof str, "%ld %s %lx", 42L, "abc", 255L); return 0; }
static int64_t t;
/* real calls, as the script makes: no tail-recursion-with-accumulator rewrite into a loop */
__attribute__((noinline, optimize("no-optimize-sibling-calls"))) int64_t r(int64_t x) { if (x <= 0) return 0; return 1 + r(x - 1); }
NI int c_recurse_body(void) { t += r(5); return 0; }
#define LOOP(name, call) void name(int64_t iters) { for (int64_t i = 0; i < iters; i++) { call; __asm__ volatile("" ::: "memory"); } }
LOOP(c_counter, c_counter_body())
LOOP(c_map, c_map_body("key"))
LOOP(c_stat, c_stat_body(5))
LOOP(c_sprintf, c_sprintf_body())
LOOP(c_recurse, c_recurse_body())
"""


def build_c(tmp: str) -> ctypes.CDLL:
    src = os.path.join(tmp, "twins.c")
    lib = os.path.join(tmp, "twins.so")
    with open(src, "w") as f:
        f.write(C_SOURCE)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", lib, src], check=True)
    return ctypes.CDLL(lib)


def compile_script(text: str):
    from stapy.options import Options
    from stapy.session import Session

    s = Session(Options(script_text=text), io.StringIO(), io.StringIO())
    return s.compile(), s.options


def driver(maxaction: int):
    """`void stapy_bench_loop(ptr handler, ptr ctx, i64 n)`: call the handler n times, resetting actions."""
    m = ir.Module(name="bench_driver")
    m.triple = llvm.get_process_triple()
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64]), name="stapy_bench_loop")
    h, ctx, n = fn.args
    entry, head, body, done = (fn.append_basic_block(x) for x in ("entry", "head", "body", "done"))
    b = ir.IRBuilder(entry)
    i = b.alloca(I64)
    b.store(c64(0), i)
    hslot = b.alloca(PTR)
    b.store(h, hslot)
    b.branch(head)
    b.position_at_end(head)
    iv = b.load(i, typ=I64)
    b.cbranch(b.icmp_signed("<", iv, n), body, done)
    b.position_at_end(body)
    b.store(c64(maxaction), b.gep(ctx, [c32(0), c32(abi.CONTEXT_INDEX["actions"])], source_etype=CONTEXT_TYPE))
    b.store(c64(0), b.gep(ctx, [c32(0), c32(abi.CONTEXT_INDEX["nesting"])], source_etype=CONTEXT_TYPE))
    hp = b.load(hslot, typ=ir.PointerType(HANDLER_TYPE))
    b.call(hp, [ctx])
    b.store(b.add(iv, c64(1)), i)
    b.branch(head)
    b.position_at_end(done)
    b.ret_void()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    ref = llvm.parse_assembly(str(m))
    ref.verify()
    tm = llvm.Target.from_default_triple().create_target_machine(opt=2)
    engine = llvm.create_mcjit_compiler(ref, tm)
    engine.finalize_object()
    _keep.append(engine)
    return ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
        engine.get_function_address("stapy_bench_loop"))


_keep: list = []


def time_call(fn, *args) -> float:
    t0 = time.perf_counter_ns()
    fn(*args)
    return time.perf_counter_ns() - t0


def main() -> int:
    from stapy.runtime.run import Runner

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=25, help="best of this many timed loops (the machine is shared)")
    ap.add_argument("--only", default="", help="just the bodies whose name contains this")
    a = ap.parse_args()
    n, reps = a.n, a.reps
    with tempfile.TemporaryDirectory() as tmp:
        clib = build_c(tmp)
        print(f"{'body':30} {'stapy ns':>9} {'gcc -O2 ns':>11} {'ratio':>6}")
        worst = 0.0
        for name, (script, cname) in BODIES.items():
            if a.only not in name:
                continue
            compiled, options = compile_script(script)
            runner = Runner(compiled, options, io.StringIO(), io.StringIO())
            runner.load()
            runner.open_output()
            probe = next(p for p in compiled.probes if p.family == "timer")
            loop = driver(compiled.limits.MAXACTION_INTERRUPTIBLE)
            runner.ctx.probe_index = probe.index
            h = runner.handler(probe.index)
            cfn = getattr(clib, cname)
            cfn.argtypes = [ctypes.c_int64]
            loop(h, runner.ctx_ptr, 1000)
            cfn(1000)
            ours = theirs = float("inf")
            for _ in range(reps):  # interleaved, so that both sides see the same spells of contention
                ours = min(ours, time_call(loop, h, runner.ctx_ptr, n) / n)
                theirs = min(theirs, time_call(cfn, n) / n)
            ratio = ours / theirs if theirs else float("inf")
            worst = max(worst, ratio)
            print(f"{name:30} {ours:9.2f} {theirs:11.2f} {ratio:6.2f}")
            runner.close_output()
        print(f"worst ratio {worst:.2f} (goal <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
