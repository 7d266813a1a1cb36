#!/usr/bin/env python3
"""Re-record the pass-1 goldens from real stap 4.8 (never from stapy).

    python3 tests/parse/record_goldens.py [--stap PATH] [FILE.stp ...]

For each tests/parse/{ok,ko}/NAME.stp (or the files given) it runs
`stap -p1 [flags] -e SCRIPT [args]` and writes NAME.p1 (stdout, exit 0) or
NAME.err (stderr, exit 1).  Scripts go through -e so every location reads
`<input>`.  A script's leading comment lines may say `# flags: -g ...` and
`# args: a b ...` (shell words).  Also refreshes
stapy/parser/syntax_examples.tsv from tests/parse/syntax_examples.txt.
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_STAP = "/work/shared/tools/stap48"


def directives(text: str) -> tuple[list[str], list[str]]:
    """(flags, args) from the script's `# flags:` / `# args:` header lines."""
    flags: list[str] = []
    args: list[str] = []
    for line in text.splitlines():
        m = re.match(r"#\s*(flags|args):(.*)$", line)
        if not m:
            if line.startswith("#"):
                continue
            break
        (flags if m.group(1) == "flags" else args).extend(shlex.split(m.group(2)))
    return flags, args


def run_stap(stap: str, text: str, flags, args):
    p = subprocess.run([stap, "-p1", *flags, "-e", text, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def record(stap: str, path: str) -> str:
    with open(path) as f:
        text = f.read()
    flags, args = directives(text)
    rc, out, err = run_stap(stap, text, flags, args)
    base = path[:-4]
    for ext in (".p1", ".err"):
        if os.path.exists(base + ext):
            os.remove(base + ext)
    if rc == 0:
        with open(base + ".p1", "w") as f:
            f.write(out)
        kind = "ok"
    else:
        with open(base + ".err", "w") as f:
            f.write(err)
        kind = "error"
    expected = "ok" if os.sep + "ok" + os.sep in path else "error"
    note = "" if kind == expected else "   <-- UNEXPECTED"
    return f"{os.path.relpath(path, REPO)}: {kind}{note}"


def record_examples(stap: str) -> None:
    """syntax_examples.txt (one script literal per line) -> stapy/parser/syntax_examples.tsv."""
    src = os.path.join(HERE, "syntax_examples.txt")
    with open(src) as f:
        scripts = [ast.literal_eval(line) for line in f if line.strip() and not line.startswith("##")]
    with cf.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda s: (s, run_stap(stap, s, [], [])), scripts))
    rows = ["# form (saw/at/eof)\tstap 4.8's first parse error\tscript (python literals); "
            "recorded by tests/parse/record_goldens.py"]
    for s, (rc, out, err) in results:
        m = re.search(r"^parse error: (.*?)\n\s+(saw|at): ([^\n]*)$", err, re.S | re.M)
        if not m:
            continue
        msg, form, what = m.groups()
        if what.endswith(" EOF"):
            form = "eof"
        rows.append(f"{form}\t{msg!r}\t{s!r}")
    with open(os.path.join(REPO, "stapy", "parser", "syntax_examples.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"syntax_examples.tsv: {len(rows) - 1} examples")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stap", default=DEFAULT_STAP)
    ap.add_argument("--examples", action="store_true", help="also re-record syntax_examples.tsv")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    files = a.files or sorted(
        os.path.join(HERE, d, f) for d in ("ok", "ko") for f in os.listdir(os.path.join(HERE, d))
        if f.endswith(".stp"))
    with cf.ThreadPoolExecutor(8) as ex:
        for line in ex.map(lambda p: record(a.stap, os.path.abspath(p)), files):
            print(line)
    if a.examples:
        record_examples(a.stap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
