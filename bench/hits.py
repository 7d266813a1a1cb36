"""ns added per call of a probed function: stapy against a minimal C ptrace tracer and bpftrace.

    python3 bench/hits.py [N] [REPS]

The target (hits_target.c) times its own hot loop of N calls with clock_gettime, and starts that
loop only once a start file exists, which the harness creates once the tracer is attached: so no
tracer's start-up, compile or attach time is in any figure.  Each figure is
(traced loop time - untraced loop time) / N, the best of REPS runs (the machine is shared and
noisy).  stapy runs through its command line (`python3 -m stapy -e ... -c ...`, compiled handlers,
native hot loop); the C tracer (mini_tracer.c, gcc-built here) does the same work per hit as
stapy's fast path; bpftrace (kernel uprobes, needs root) is measured when it can attach.
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

from stapy.debuginfo import elf  # noqa: E402

STAPY = {
    "empty": "probe process(\"{t}\").function(\"probed\") {{ }}",
    "counter": "global n; probe process(\"{t}\").function(\"probed\") {{ n++ }} probe end {{ n = 0 }}",
    "user_string": "global s; probe process(\"{t}\").function(\"probed\") {{ s = user_string(pointer_arg(1)) }} "
                   "probe end {{ s = \"\" }}",
    ".return": "probe process(\"{t}\").function(\"probed\").return {{ }}",
}
BPFTRACE = {
    "empty": "uprobe:{t}:probed {{ }}",
    "counter": "uprobe:{t}:probed {{ @c = count(); }} END {{ clear(@c); }}",
    "user_string": "uprobe:{t}:probed {{ @s = str(arg0); }} END {{ clear(@s); }}",
    ".return": "uretprobe:{t}:probed {{ }}",
}
C_MODES = {"empty": 0, "counter": 1, "user_string": 2}


class Bench:
    def __init__(self, n: int, tmp: Path):
        self.n, self.tmp = n, tmp
        self.target = tmp / "target"
        subprocess.run(["gcc", "-O0", "-no-pie", "-fcf-protection=none", "-o", str(self.target),
                        str(ROOT / "bench" / "hits_target.c")], check=True)
        self.tracer = tmp / "mini_tracer"
        subprocess.run(["gcc", "-O2", "-o", str(self.tracer), str(ROOT / "bench" / "mini_tracer.c")], check=True)
        self.addr = elf.open_elf(str(self.target)).lookup("probed")[0].address
        self.k = 0

    def files(self) -> tuple[Path, Path]:
        self.k += 1
        start, result = self.tmp / f"start{self.k}", self.tmp / f"result{self.k}"
        return start, result

    def argv(self, start: Path, result: Path) -> list[str]:
        return [str(self.target), str(self.n), str(start), str(result)]

    @staticmethod
    def loop_ns(result: Path) -> int:
        return int(result.read_text().split()[1])

    def untraced(self) -> int:
        start, result = self.files()
        start.touch()
        subprocess.run(self.argv(start, result), check=True)
        return self.loop_ns(result)

    def stapy(self, handler: str) -> int:
        # probes are armed at the exec stop, before the target's first instruction: start at once.
        # -u keeps the empty handlers from being elided (stap's rule)
        start, result = self.files()
        start.touch()
        r = subprocess.run([sys.executable, "-m", "stapy", *(["-u"] if handler in ("empty", ".return") else []), "-e", STAPY[handler].format(t=self.target),
                            "-c", " ".join(self.argv(start, result))], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise RuntimeError(f"stapy {handler}: {r.stderr.strip()}")
        return self.loop_ns(result)

    def ctracer(self, handler: str) -> int:
        start, result = self.files()
        start.touch()
        subprocess.run([str(self.tracer), str(C_MODES[handler]), hex(self.addr), *self.argv(start, result)],
                       check=True, stderr=subprocess.DEVNULL)
        return self.loop_ns(result)

    def bpftrace(self, handler: str) -> int:
        # start the loop once bpftrace says it attached (plus a margin), not before
        start, result = self.files()
        p = subprocess.Popen(["bpftrace", "-e", BPFTRACE[handler].format(t=self.target),
                              "-c", " ".join(self.argv(start, result))],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in p.stdout:
            if line.startswith("Attaching"):
                break
        time.sleep(0.3)
        start.touch()
        p.communicate(timeout=600)
        return self.loop_ns(result)


def bpftrace_works(b: Bench) -> bool:
    if shutil.which("bpftrace") is None:
        return False
    try:
        saved, b.n = b.n, 10
        b.bpftrace("empty")
        return True
    except Exception as ex:  # noqa: BLE001 - any failure means: skip bpftrace
        print(f"bpftrace cannot run here: {ex}")
        return False
    finally:
        b.n = saved


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    b = Bench(n, Path(tempfile.mkdtemp(prefix="stapy-bench-")))
    base = min(b.untraced() for _ in range(reps))
    have_bpf = bpftrace_works(b)

    def per_call(fn, handler) -> float:
        return (min(fn(handler) for _ in range(reps)) - base) / n

    print(f"N = {n} calls, best of {reps}; untraced loop {base / n:.1f} ns/call; figures: ns added per call")
    print(f"{'handler':<12} {'stapy':>8} {'C ptrace':>9} {'stapy/C':>8} {'bpftrace':>9} {'stapy/bpf':>9}")
    for handler in STAPY:
        s = per_call(b.stapy, handler)
        c = per_call(b.ctracer, handler) if handler in C_MODES else None
        bp = per_call(b.bpftrace, handler) if have_bpf else None
        cols = [f"{handler:<12}", f"{s:8.0f}",
                f"{c:9.0f} {s / c:8.2f}" if c else f"{'-':>9} {'-':>8}",
                f"{bp:9.0f} {s / bp:9.2f}" if bp else f"{'-':>9} {'-':>9}"]
        print(" ".join(cols))
        sys.stdout.flush()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    main()
