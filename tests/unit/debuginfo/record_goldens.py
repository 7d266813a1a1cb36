"""Record stap 4.8's -l/-L/-p2 output for goldens/cases.txt.  Run: python3 tests/unit/debuginfo/record_goldens.py"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))          # tests/ (conftest)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_cases import cases, p2_caller_checks, p2_probe_lines, p3_point_names, to_golden  # noqa: E402

STAP = "/work/shared/tools/stap48"


def record(case) -> str:
    binary = case.build()
    point = case.point.replace("BIN", str(binary)) if binary is not None else case.point
    if case.mode == "-p2":
        res = subprocess.run([STAP, "-p2", "-e", f"probe {point} {{ println(1) }}"], capture_output=True, text=True)
        text = "\n".join(p2_probe_lines(res.stdout))
    elif case.mode == "-p2c":         # -p2 -v: probe lines, derivations and .callee caller checks
        res = subprocess.run([STAP, "-p2", "-v", "-e", f"probe {point} {{ println(1) }}"], capture_output=True,
                             text=True)
        text = "\n".join(p2_caller_checks(res.stdout))
    elif case.mode == "-pn":          # -p3: pp() and pn() of each probe
        res = subprocess.run([STAP, "-p3", "-e", f"probe {point} {{ println(pn()) }}"], capture_output=True,
                             text=True)
        text = "\n".join(p3_point_names(res.stdout))
    elif case.mode == "-vL":          # -v -L: one line per probe, in stap's order
        res = subprocess.run([STAP, "-v", "-L", point], capture_output=True, text=True)
        text = "\n".join(res.stdout.splitlines())
    else:
        res = subprocess.run([STAP, case.mode, point], capture_output=True, text=True)
        text = "\n".join(sorted(res.stdout.splitlines()))
    return to_golden(text, binary, case.source_of(binary)) + "\n"


if __name__ == "__main__":
    only = set(sys.argv[1:])
    for c in cases():
        if only and c.name not in only:
            continue
        out = record(c)
        old = c.golden.read_text() if c.golden.exists() else None
        c.golden.write_text(out)
        print(f"{c.name}: {len(out.splitlines())} lines{'' if old in (None, out) else ' (CHANGED)'}")
