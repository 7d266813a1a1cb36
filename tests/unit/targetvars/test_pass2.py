"""Pass 2 of target expressions against stap 4.8's recorded verdicts (errors.json, from record_errors.py)."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from conftest import BUILD, build_target
from stapy.options import Options
from stapy.session import Session
from unit.targetvars.cases import CASES

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "errors.json").read_text())


def _normalize(line: str, binary: Path, source: Path) -> str:
    line = line.replace(str(source), "@SRC@").replace(str(binary), "@BIN@")
    # stap lists alternatives from an unordered set: compare them as a set
    return re.sub(r"\(alternatives: ([^)]*)\)", lambda m: "(alternatives: " + ", ".join(sorted(m.group(1).split(", "))) + ")", line)


@pytest.fixture(autouse=True)
def real_process_resolver():
    """Other unit tests swap the process resolver out (and leave None behind): use the real one."""
    from stapy.semantic import probe_points, process_points

    probe_points.register_process_resolver(process_points.resolve_process_point)
    yield


def run_p2(script: str):
    err = io.StringIO()
    out = io.StringIO()
    status = Session(Options(script_text=script, last_pass=2), stdout=out, stderr=err).main()
    return status, err.getvalue(), out.getvalue()


@pytest.mark.parametrize("name,target,flags,script", CASES, ids=[c[0] for c in CASES])
def test_pass2_like_stap(name, target, flags, script):
    binary = build_target(target, flags=flags)
    source = next(BUILD.glob(binary.name + ".c"))
    status, stderr, stdout = run_p2(script.replace("@BIN@", str(binary)))
    want = EXPECTED[name]
    assert (status == 0) == want["ok"], stderr
    got = [_normalize(line, binary, source) for line in stderr.splitlines() if line.startswith("semantic error:")][:2]
    assert got == [_normalize(line, binary, source) for line in want["errors"]]
    if want["ok"] and not name.endswith("_nolisting"):
        lines, section = [], None
        for line in stdout.splitlines():
            if line.startswith("# "):
                section = line
                if line in ("# globals", "# probes"):
                    lines.append(line)
                continue
            if section in ("# globals", "# probes"):
                lines.append(_normalize(line, binary, source))
        assert lines == want["listing"]
