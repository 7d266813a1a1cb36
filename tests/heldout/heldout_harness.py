"""A held-out style suite: real multi-file programs, stap scripts as a performance engineer writes them,
and expected values from an independent source (the program printing its own values as `truth KEY ...`
lines, or gdb's dprintf at the same breakpoints).

Each program is built once per optimisation level (cached under tests/.build/heldout by a hash of its
sources and flags); each test module runs stapy once per build with one script holding all its probes,
and the tests compare the lines keyed by their first word.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conftest import BUILD, run_stapy  # noqa: E402

PROGS = Path(__file__).resolve().parent / "progs"
OPTS = ("O0", "O2")

# program -> list of build steps: (compiler, output, sources, extra flags); paths relative to the build dir
# except sources (relative to progs/<program>).
RECIPES = {
    "inventory": [("gcc", "inventory", ["main.c", "items.c"], [])],
    "calc": [("gcc", "calc", ["calc.c"], [])],
    "workers": [("gcc", "workers", ["workers.c"], ["-lpthread"])],
    "plugins": [("gcc", "libgeom.so", ["libgeom.c"], ["-fPIC", "-shared"]),
                ("gcc", "libplugin.so", ["plugin.c"], ["-fPIC", "-shared"]),
                ("gcc", "host", ["host.c"], ["-L{dir}", "-lgeom", "-Wl,-rpath,{dir}", "-ldl"])],
    "sdt": [("gcc", "sdt", ["sdt.c"], [])],
    "shapes": [("g++", "shapes", ["shapes.cc"], [])],
    "attach": [("gcc", "ticker", ["ticker.c"], [])],
    "spawn": [("gcc", "spawner", ["spawner.c"], []), ("gcc", "job", ["job.c"], [])],
    # fixed addresses, for comparing with gdb at the very same pcs
    "inventory-nopie": [("gcc", "inventory", ["main.c", "items.c"], ["-no-pie"])],
    "calc-nopie": [("gcc", "calc", ["calc.c"], ["-no-pie"])],
    "shapes-nopie": [("g++", "shapes", ["shapes.cc"], ["-no-pie"])],
}
SOURCES = {"inventory-nopie": "inventory", "calc-nopie": "calc", "shapes-nopie": "shapes"}


def build(prog: str, opt: str) -> Path:
    """Build every artifact of `prog` at -O0/-O2 with -g; returns the build directory."""
    src = PROGS / SOURCES.get(prog, prog)
    recipe = RECIPES[prog]
    h = hashlib.sha1(repr((recipe, opt)).encode())
    for f in sorted(src.iterdir()):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    d = BUILD / "heldout" / f"{prog}-{opt}-{h.hexdigest()[:10]}"
    if d.exists():
        return d
    tmp = d.with_name(d.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for cc, out, sources, extra in recipe:
        cmd = [cc, f"-{opt}", "-g", "-I", str(src), "-o", str(tmp / out), *[str(src / s) for s in sources],
               *[e.replace("{dir}", str(d)) for e in extra]]
        # the rpath names the final directory: link against the temporary one
        cmd = [c if not c.startswith("-L") else f"-L{tmp}" for c in cmd]
        subprocess.run(cmd, check=True)
    try:
        os.rename(tmp, d)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return d


def stap(script: str, *args: str, timeout: float = 60, cwd=None):
    """Run stapy -e SCRIPT ARGS..., returning the CompletedProcess."""
    return run_stapy("-e", script, *args, timeout=timeout, cwd=cwd)


def split(stdout: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(truth lines, stap lines) by key: `truth KEY rest` from the program, `KEY rest` from the script."""
    truth, got = defaultdict(list), defaultdict(list)
    for line in stdout.splitlines():
        if line.startswith("truth "):
            key, _, rest = line[6:].partition(" ")
            truth[key].append(rest)
        elif line.strip():
            key, _, rest = line.partition(" ")
            got[key].append(rest)
    return truth, got


def line_of(path: Path, marker: str) -> int:
    """The 1-based line of the first line containing marker (statement probes follow the source)."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return i
    raise LookupError(marker)


def decl_line(path: Path, regex: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if re.search(regex, line):
            return i
    raise LookupError(regex)


def gdb_dprintf(binary: Path, args: list[str], points: list[tuple[str, str, str]], cwd=None) -> dict[str, list[str]]:
    """gdb as the oracle: `dprintf LOC,"KEY FMT\\n",EXPRS` for each point; the program runs to its end.
    Returns the printed lines by key.  Skips the test when gdb is not installed."""
    import pytest

    gdb = shutil.which("gdb")
    if not gdb:
        pytest.skip("gdb not installed")
    cmd = [gdb, "-nx", "-batch", "-ex", "set breakpoint pending on", "-ex", "set startup-with-shell off",
           "-ex", "set debuginfod enabled off"]
    for loc, fmt, exprs in points:
        key = fmt.split()[0]
        cmd += ["-ex", f'dprintf {loc},"{fmt}\\n"' + (f",{exprs}" if exprs else "")]
        assert key
    cmd += ["-ex", "run", "--args", str(binary), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd)
    keys = {fmt.split()[0] for _, fmt, _ in points}
    out = defaultdict(list)
    for line in p.stdout.splitlines():
        k, _, rest = line.partition(" ")
        if k in keys:
            out[k].append(rest)
    return out
