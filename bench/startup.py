"""Time from nothing to "probe address resolved" for process("BIN").function("F").

    python3 bench/startup.py [repeats]

For each target, a fresh `python3 -c` resolves the probe; we report the median of
  - resolve:  import of stapy.debuginfo + resolution (measured inside the child), and
  - process:  the child's whole wall time (interpreter start-up included).
Targets: a small C binary built here (gcc -O0 -g), libc.so.6 (with its separate debuginfo when
installed under /usr/lib/debug), libpython when present.  Beside it, bpftrace attaching a uprobe
on the same function in the same run: the time until it prints "Attaching 1 probe..." (symbol
resolution done) and whether the attach itself worked; skipped when bpftrace is missing.
"""
from __future__ import annotations

import json
import os
import pty
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from stapy.debuginfo.resolve import resolve_process_probe
t1 = time.perf_counter()
sites = resolve_process_probe(sys.argv[1], [("function", sys.argv[2])])
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "resolve": t2 - t0, "sites": [[s.pp, s.pc_text] for s in sites]}))
"""


def run_child(path: str, func: str) -> tuple[dict, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, path, func], capture_output=True, text=True, env=env,
                         check=True).stdout
    return json.loads(out), time.perf_counter() - t0


def bpftrace_time(path: str, func: str) -> str:
    """Time until bpftrace reports "Attaching 1 probe..." (it has resolved the symbol), read through a
    pty so its stdout is line-buffered; attach errors arrive on the same terminal."""
    exe = shutil.which("bpftrace")
    if exe is None:
        return "bpftrace not installed"
    master, slave = pty.openpty()
    t0 = time.perf_counter()
    p = subprocess.Popen([exe, "-e", f"uprobe:{path}:{func} {{ exit(); }}"], stdout=slave, stderr=slave)
    os.close(slave)
    seen, text = None, b""
    rc = None
    try:
        while time.perf_counter() - t0 < 10:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                text += chunk
                if seen is None and b"Attaching" in text:
                    seen = time.perf_counter() - t0
            if seen is not None and time.perf_counter() - t0 > seen + 1.0:
                break
            if p.poll() is not None and not ready:
                break
        rc = p.poll()
    finally:
        p.kill()
        p.wait()
        os.close(master)
    # detach-time noise (the legacy uprobe_events file is absent here; perf-event uprobes still work)
    failed = [l for l in text.decode(errors="replace").splitlines()
              if "ERROR" in l and "RLIMIT_MEMLOCK" not in l and "failed to detach" not in l]
    if seen is None:
        return "bpftrace failed before attaching: " + " | ".join(failed[:2])
    if failed:
        status = "attach failed: " + failed[0].strip()
    elif rc == 0:
        status = "attached; the probe fired at once system-wide and exit() ended it"
    else:
        status = "attached"
    return f"{seen * 1000:.0f} ms to 'Attaching 1 probe' ({status})"


def targets(tmp: Path) -> list[tuple[str, str, str]]:
    src = ROOT / "tests" / "targets" / "dbg_basic.c"
    small = tmp / "small"
    subprocess.run(["gcc", "-O0", "-g", "-o", str(small), str(src)], check=True)
    out = [("small C binary (-O0 -g)", str(small), "add"),
           ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "malloc")]
    for cand in ("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
                 "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0"):
        if os.path.exists(cand):
            out.append((os.path.basename(cand), cand, "PyObject_Malloc"))
            break
    return out


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as d:
        for label, path, func in targets(Path(d)):
            rs, ws, imps, sites = [], [], [], None
            for _ in range(repeats):
                res, wall = run_child(path, func)
                rs.append(res["resolve"])
                imps.append(res["import"])
                ws.append(wall)
                sites = res["sites"]
            print(f"{label}: function(\"{func}\")")
            print(f"  resolved: {sites[0][0] if sites else 'NO MATCH'} at {sites[0][1] if sites else '-'}")
            print(f"  stapy resolve (import+resolve, median of {repeats}): {statistics.median(rs) * 1000:.0f} ms"
                  f"  (of which import {statistics.median(imps) * 1000:.0f} ms)")
            print(f"  stapy whole child process: {statistics.median(ws) * 1000:.0f} ms")
            print(f"  bpftrace: {bpftrace_time(path, func)}")


if __name__ == "__main__":
    main()
