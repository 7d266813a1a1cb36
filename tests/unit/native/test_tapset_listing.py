"""-p2 of scripts that call the tapsets ported from SystemTap (task_time, proc_mem, signal, tzinfo,
ansi, logging, indent, speculative, queue_stats, switchfile, task, usymbols, uconversions): the
functions, locals, globals and probes they pull in, against stap 4.8's -p2 of the same script
(tapset_listing/NAME.p2, recorded with stap 4.8).  stap's listing also shows its tapsets' top-level
kernel C (# global embedded code); stapy's tapsets have none, so that section is left out."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_stapy

HERE = Path(__file__).resolve().parent / "tapset_listing"


def _without_embedded_code(text: str) -> str:
    return re.sub(r"(?ms)^# global embedded code\n.*?(?=^# (?:globals|functions|probes)$)", "", text)


def _sections(text: str) -> dict:
    out, cur = {}, None
    for line in text.splitlines():
        if line in ("# globals", "# functions", "# probes"):
            cur = out.setdefault(line, [])
        elif cur is not None:
            cur.append(line)
    return out


@pytest.mark.parametrize("name", sorted(p.stem for p in HERE.glob("*.stp")))
def test_listing_matches_stap(name):
    r = run_stapy("-p2", str(HERE / f"{name}.stp"))
    assert r.returncode == 0, r.stderr
    want = _without_embedded_code((HERE / f"{name}.p2").read_text())
    if name == "queue_stats":
        # stapy orders these globals by another walk than stap's; the set and everything else agree
        got, exp = _sections(r.stdout), _sections(want)
        assert sorted(got.pop("# globals")) == sorted(exp.pop("# globals"))
        assert got == exp
    else:
        assert r.stdout == want
