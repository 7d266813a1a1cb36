"""Time from script text to ready native handlers for a 200-line script, cold and cached.

    python3 bench/compile.py [--runs 5]

Cold: an empty cache directory (passes 1-4 run, the object is built) plus
loading into the execution engine.  Cached: the same script again (pass 4's
cache lets the session skip passes 1-4) plus loading.  Goals: <300 ms cold,
<50 ms cached.  Each measurement runs in a fresh interpreter so imports and
LLVM initialisation are not shared between runs; the figure excludes the
interpreter's own start-up but includes stapy's imports, from bytecode
compiled first as an installed package's is (under PYTHONDONTWRITEBYTECODE
every edited module would otherwise be compiled from source in every run).
"""
from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def script_200_lines() -> str:
    lines = ["global counts, total, names, lat", ""]
    for i in range(24):
        lines += [
            f"function helper{i}(x, s) {{",
            f"  if (x > {i}) return x * {i + 1} + strlen(s)",
            f"  return x - {i}",
            "}",
            "",
        ]
    for i in range(12):
        lines += [
            f"probe timer.ms({100 + i}) {{",
            f'  counts["t{i}"]++',
            f"  total += helper{i}(total, \"abc\")",
            f"  lat <<< total % 97",
            f'  names[{i}] = sprintf("%d-%s", total, "x")',
            "  exit()",
            "}",
            "",
        ]
    lines += ["probe end {", '  foreach (k in counts-) printf("%s %d\\n", k, counts[k])',
              '  printf("%d %d\\n", total, @count(lat))', "}"]
    while len(lines) < 200:
        lines.insert(-4, "# padding")
    return "\n".join(lines) + "\n"


CHILD = r"""
import io, resource, sys, time
sys.path.insert(0, sys.argv[1])
def cpu():  # user and system time, ours and the linker's
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
t0 = time.perf_counter()
c0 = cpu()
from stapy.options import Options
from stapy.session import Session
from stapy.codegen.jit import lookup_cached
from stapy.runtime.run import Runner
opts = Options(script_text=open(sys.argv[2]).read())
s = Session(opts, io.StringIO(), io.StringIO())
compiled = lookup_cached(opts) or s.compile()
r = Runner(compiled, opts, io.StringIO(), io.StringIO())
r.load()
print((time.perf_counter() - t0) * 1000, (cpu() - c0) * 1000)
"""


def measure(path: str, cache: str, preamble: str) -> tuple[float, float]:
    """(wall ms, CPU ms) of one run: on a shared machine the CPU figure is the steadier one."""
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    out = subprocess.run([sys.executable, "-c", preamble + CHILD, ROOT, path], env=env, capture_output=True,
                         text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--preamble", default="", help="python run first in the child (e.g. test glue)")
    a = ap.parse_args()
    preamble = open(a.preamble).read() + "\n" if a.preamble else ""
    compileall.compile_dir(os.path.join(ROOT, "stapy"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.stp")
        with open(path, "w") as f:
            f.write(script_200_lines())
        warm = os.path.join(tmp, "warm.stp")
        with open(warm, "w") as f:
            f.write("probe begin { exit() }\n")
        cold, script_cold, cached = [], [], []
        for i in range(a.runs):
            cache = os.path.join(tmp, f"cache{i}")
            cold.append(measure(path, cache, preamble))  # nothing cached, not even the runtime library
            cached.append(measure(path, cache, preamble))
            cache2 = os.path.join(tmp, f"cacheb{i}")
            measure(warm, cache2, preamble)  # runtime library cached, this script not
            script_cold.append(measure(path, cache2, preamble))
        def med(runs, i=0):
            return statistics.median(r[i] for r in runs)

        print(f"200-line script, {a.runs} runs (medians): cold {med(cold):.0f} ms with the runtime library built, "
              f"{med(script_cold):.0f} ms with it cached (goal < 300); cached {med(cached):.0f} ms (goal < 50)")
        print(f"  CPU time (user+sys, with the linker's): cold {med(cold, 1):.0f} / {med(script_cold, 1):.0f} ms, "
              f"cached {med(cached, 1):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
