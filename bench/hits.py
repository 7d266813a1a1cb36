"""ns added per call of a probed function, stapy's engine against a minimal C ptrace tracer and bpftrace.

    python3 bench/hits.py [N]

Three handlers: empty (returns 0), counter (increments a global), user_string (reads the
string argument through ctx->read_user_string).  Each figure is (T(N) - T(N/10)) / (N - N/10)
for traced wall time T, so start-up costs (stapy's launch, bpftrace's compile and attach) cancel
out and what remains is the cost per hit (the probed call itself is ~40 ns untraced); the ratio is stapy / the C tracer doing the same work per hit (gcc-built in
this run).  bpftrace is measured when it is installed and can attach (root, uprobes); else skipped.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "engine"))

from llvmlite import ir  # noqa: E402

from irhandlers import Handlers  # noqa: E402
from stapy.debuginfo import elf  # noqa: E402
from stapy.runtime.engine import Engine  # noqa: E402
from stapy.runtime.nativecode import compile_module  # noqa: E402


def gcc(src: Path, out: Path, *flags: str) -> Path:
    subprocess.run(["gcc", "-O2", *flags, "-o", str(out), str(src)], check=True)
    return out


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def best(fn, reps: int = 3) -> float:
    return min(timed(fn) for _ in range(reps))


def empty_handler() -> int:
    m = ir.Module(name="bench_empty")
    f = ir.Function(m, ir.FunctionType(ir.IntType(32), [ir.PointerType()]), "empty")
    ir.IRBuilder(f.append_basic_block()).ret(ir.Constant(ir.IntType(32), 0))
    c = compile_module(m)
    empty_handler.keep = c
    return c.address("empty")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    tmp = Path(tempfile.mkdtemp(prefix="stapy-bench-"))
    target = gcc(ROOT / "bench" / "hits_target.c", tmp / "target", "-O0", "-no-pie", "-fcf-protection=none")
    tracer = gcc(ROOT / "bench" / "mini_tracer.c", tmp / "mini_tracer")
    addr = elf.open_elf(str(target)).lookup("probed")[0].address
    H = Handlers()
    handlers = {"empty": empty_handler(), "counter": H["count"], "user_string": H["string"]}
    base = best(lambda: subprocess.run([str(target), str(n)], check=True))

    def stapy_run(handler, calls):
        e = Engine()
        e.add_probe(str(target), "probed", handler, "entry", 0)
        e.launch([str(target), str(calls)])
        e.run()
        e.detach_all()
        assert e.target_status == 0

    def c_run(mode, calls):
        subprocess.run([str(tracer), str(mode), hex(addr), str(target), str(calls)], check=True,
                       stderr=subprocess.DEVNULL)

    def per_call(run, arg, reps=5):
        small = n // 10
        return (best(lambda: run(arg, n), reps) - best(lambda: run(arg, small), reps)) / (n - small) * 1e9

    bpf = bpftrace_runner(target)
    print(f"N = {n} calls; untraced run {base * 1e3:.1f} ms; figures are ns added per call")
    print(f"{'handler':<12} {'stapy':>9} {'C ptrace':>9} {'ratio':>6} {'bpftrace':>9} {'ratio':>6}")
    for mode, (name, h) in enumerate(handlers.items()):
        s = per_call(stapy_run, h)
        c = per_call(c_run, mode)
        line = f"{name:<12} {s:9.0f} {c:9.0f} {s / c:6.2f}"
        if bpf is not None:
            b = per_call(bpf, name, reps=2)
            line += f" {b:9.0f} {s / b:6.2f}"
        else:
            line += f" {'skipped':>9}"
        print(line)

    def stapy_return(handler, calls):
        e = Engine()
        e.add_probe(str(target), "probed", handler, "return", 0)
        e.launch([str(target), str(calls)])
        e.run()
        e.detach_all()

    r = per_call(stapy_return, H["ret"])
    print(f"{'.return':<12} {r:9.0f}   (return probe: hijack at entry + trampoline hit, two stops per call)")
    H.reset()


def bpftrace_runner(target: Path):
    """A callable timing bpftrace on the same target, or None when bpftrace cannot attach here."""
    bt = shutil.which("bpftrace")
    if bt is None:
        return None
    progs = {
        "empty": f'uprobe:{target}:probed {{ }}',
        "counter": f'uprobe:{target}:probed {{ @c = count(); }}',
        "user_string": f'uprobe:{target}:probed {{ @s = str(arg0); }}',
    }
    try:
        r = subprocess.run([bt, "-e", progs["empty"], "-c", f"{target} 10"], capture_output=True, text=True,
                           timeout=60)
    except (subprocess.TimeoutExpired, OSError):
        return None
    if r.returncode != 0:
        print(f"bpftrace cannot attach here: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
        return None

    def run(name, calls):
        subprocess.run([bt, "-e", progs[name], "-c", f"{target} {calls}"], capture_output=True, timeout=600)

    return run


if __name__ == "__main__":
    main()
