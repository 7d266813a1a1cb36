"""Differential check against real stap 4.8 (a developer tool; the test suite never needs stap).

    python3 tests/unit/debuginfo/diff_stap48.py

Builds the dbg_* targets, then for each target x pattern compares `stap48 -L` with list_probes()
(as sets: -L sorts) and `stap48 -p2` with resolve_process_probe() (in order).  Prints the
differences and their count; findings worth keeping become goldens/cases.txt lines.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[2]), str(HERE.parents[1])]

from conftest import build_target  # noqa: E402
from stapy.debuginfo.listing import list_probes, split_probe_point  # noqa: E402
from stapy.debuginfo.resolve import resolve_process_probe  # noqa: E402

STAP = "/work/shared/tools/stap48"
TARGETS = [("dbg_basic.c", ("-O0", "-g")), ("dbg_basic.c", ("-O2", "-g")), ("dbg_inline.c", ("-O2", "-g")),
           ("dbg_inline.c", ("-O0", "-g")), ("dbg_cpp.cc", ("-O2", "-g")), ("dbg_cpp.cc", ("-O0", "-g")),
           ("dbg_sdt.c", ("-O2", "-g")), ("dbg_lib.c", ("-O2", "-g", "-shared", "-fPIC")),
           ("dbg_vars.c", ("-O2", "-g")), ("dbg_many.c", ("-O2", "-g")), ("dbg_unwind.c", ("-O2", "-g"))]
PATTERNS = ['function("*")', 'function("*").return', 'function("*").call', 'function("*").inline',
            'function("*").exported', 'function("*@*:*")', 'function("a*")', 'function("*").label("*")',
            'statement("*@*:*")', 'statement("*@*.c:10-20")', 'mark("*")', 'plt("*")']


def main() -> int:
    bad = 0
    for target, flags in TARGETS:
        binary = build_target(target, flags=flags)
        for pat in PATTERNS:
            point = f'process("{binary}").{pat}'
            want = subprocess.run([STAP, "-L", point], capture_output=True, text=True).stdout.splitlines()
            got = list_probes(point, True) or []
            if sorted(want) != sorted(got):
                bad += 1
                print("-L DIFF", target, " ".join(flags), pat)
                for line in sorted(set(want) - set(got))[:3]:
                    print("   stap :", line)
                for line in sorted(set(got) - set(want))[:3]:
                    print("   stapy:", line)
            out = subprocess.run([STAP, "-p2", "-e", f"probe {point} {{ println(1) }}"], capture_output=True,
                                 text=True).stdout
            want = [re.sub(r" /\* <- .* \*/$", "", l) for l in out.splitlines() if l.startswith("process")]
            comps = split_probe_point(point)
            got = [f"{s.p2_text} /* pc={s.pc_text} */" for s in resolve_process_probe(comps[0][1], comps[1:])]
            if want != got:
                bad += 1
                print("-p2 DIFF", target, " ".join(flags), pat, "(order only)" if sorted(want) == sorted(got) else "")
    print("differences:", bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
