"""Golden cases for pass 2: tests/semantic/{ok,ko}/NAME.stp with the outputs of real stap 4.8.

ok/NAME.p2   stdout of `stap -p2 NAME.stp` (the listing); ok/NAME.err its stderr (warnings), if any.
ko/NAME.err  stderr of a failing `stap -p2` (exit 1); ko/NAME.p2 is not kept.
NAME.args    optional extra command-line words, one per line (e.g. -u, -w, -G x=1).
NAME.argv    optional words after the script name ($1, $2...), one per line.
With -v in NAME.args, stderr (timings, memory use) is not compared.

stap 4.8's `# global embedded code` section holds the C of its own tapset files (which
stapy cannot and need not reproduce, LANGUAGE.md 10.4); for scripts without embedded C
it is dropped from the recorded listing (`strip_tapset_embeds`).

Record or refresh with `python3 tests/semantic/record.py [--update-goldens] [NAME...]`
(needs /work/shared/tools/stap48); the tests themselves never need stap.
"""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAP48 = "/work/shared/tools/stap48"


def cases(kind: str) -> list[Path]:
    return sorted((HERE / kind).glob("*.stp"))


def extra_args(stp: Path) -> list[str]:
    a = stp.with_suffix(".args")
    return [w for w in a.read_text().splitlines() if w.strip()] if a.exists() else []


def verbose_case(stp: Path) -> bool:
    return "-v" in extra_args(stp)


def trailing_args(stp: Path) -> list[str]:
    a = stp.with_suffix(".argv")
    return [w for w in a.read_text().splitlines() if w.strip()] if a.exists() else []


def run_stapy(stp: Path) -> tuple[int, str, str]:
    """Run stapy's passes 1-2 in-process, as `stapy -p2 [args] NAME.stp` (cwd = the case dir)."""
    import os

    from stapy.cli import build_options
    from stapy.session import Session

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(stp.parent)
    try:
        options = build_options(["-p2", *extra_args(stp), stp.name, *trailing_args(stp)])
        rc = Session(options, stdout=out, stderr=err).main()
    finally:
        os.chdir(cwd)
    return rc, out.getvalue(), err.getvalue()


def strip_tapset_embeds(listing: str, script: str) -> str:
    if "%{" in script or not listing.startswith("# global embedded code\n"):
        return listing
    lines = listing.splitlines(True)
    i = 1
    while i < len(lines) and lines[i].rstrip("\n") not in ("# globals", "# functions", "# probes"):
        i += 1
    return "".join(lines[i:])


def run_stap48(stp: Path) -> tuple[int, str, str]:
    p = subprocess.run([STAP48, "-p2", *extra_args(stp), stp.name, *trailing_args(stp)], cwd=stp.parent, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, strip_tapset_embeds(p.stdout, stp.read_text()), p.stderr
