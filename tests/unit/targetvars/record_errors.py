"""Record stap 4.8's pass-2 verdicts for cases.py into errors.json (needs /work/shared/tools/stap48).

    python3 tests/unit/targetvars/record_errors.py [NAME...]   (only those cases, merged into errors.json)
Paths of the built binary and of its source are replaced by @BIN@ and @SRC@ (@BINNAME@: the binary's file name).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))
sys.path.insert(0, str(HERE.parent.parent))

from conftest import BUILD, build_target  # noqa: E402
from unit.targetvars.cases import CASES, VERBOSE  # noqa: E402

STAP = "/work/shared/tools/stap48"


def first_errors(stderr: str, binary: Path, source: Path) -> list[str]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("semantic error:"):
            out.append(normalize(line, binary, source))
    return out[:2]


def listing(stdout: str, binary: Path, source: Path) -> list[str]:
    """The -p2 lines stapy reproduces: globals and probes (stap's synthesized functions are left out)."""
    out, section = [], None
    for line in stdout.splitlines():
        if line.startswith("# "):
            section = line
            if line in ("# globals", "# probes"):
                out.append(line)
            continue
        if section in ("# globals", "# probes"):
            out.append(normalize(line, binary, source))
    return out


def functions(stdout: str, binary: Path, source: Path) -> list[str]:
    """The -p2 "# global embedded code" and "# functions" sections (signatures and locals)."""
    out, section = [], None
    for line in stdout.splitlines():
        if line.startswith("# ") and not line.startswith("#  "):
            section = line
            if line in ("# global embedded code", "# functions"):
                out.append(line)
            continue
        if section in ("# global embedded code", "# functions"):
            out.append(normalize(line, binary, source))
    return out


def verbose_listing(stdout: str, binary: Path, source: Path) -> list[str]:
    """-p2 -v: the "# functions" and "# probes" sections, without embedded-C function bodies."""
    out, section, in_c = [], None, False
    for line in stdout.splitlines():
        if in_c:
            in_c = not line.endswith("%} }")
            continue
        if line.startswith("{ %{") or line.startswith("{ return %{"):
            in_c = not line.endswith("%} }")
            continue
        if line.startswith("# ") and not line.startswith("#  "):
            section = line
        if section in ("# functions", "# probes"):
            out.append(normalize(line, binary, source))
    return out


def normalize(text: str, binary: Path, source: Path) -> str:
    return text.replace(str(source), "@SRC@").replace(str(binary), "@BIN@").replace(binary.name, "@BINNAME@")


def main():
    only = set(sys.argv[1:])
    rec = json.loads((HERE / "errors.json").read_text()) if only else {}
    for name, target, flags, script in CASES:
        if only and name not in only:
            continue
        binary = build_target(target, flags=flags)
        source = next(BUILD.glob(binary.name + ".c"))
        r = subprocess.run([STAP, "-p2", "-e", script.replace("@BIN@", str(binary)).replace("@BINNAME@", binary.name)], capture_output=True, text=True)
        rec[name] = {"ok": r.returncode == 0, "errors": first_errors(r.stderr, binary, source),
                     "listing": listing(r.stdout, binary, source) if r.returncode == 0 else [],
                     "functions": functions(r.stdout, binary, source) if r.returncode == 0 else []}
        if name in VERBOSE:
            r = subprocess.run([STAP, "-p2", "-v", "-e", script.replace("@BIN@", str(binary)).replace("@BINNAME@", binary.name)], capture_output=True,
                               text=True)
            rec[name]["verbose"] = verbose_listing(r.stdout, binary, source)
    (HERE / "errors.json").write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
