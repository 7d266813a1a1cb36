"""Pass 2 against stap 4.8's recorded output: listing, warnings and errors byte for byte."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from goldens import cases, run_stapy, verbose_case  # noqa: E402


@pytest.mark.parametrize("stp", cases("ok"), ids=lambda p: p.stem)
def test_ok(stp):
    rc, out, err = run_stapy(stp)
    expected_err = stp.with_suffix(".err").read_text() if stp.with_suffix(".err").exists() else ""
    if verbose_case(stp):
        err = expected_err  # -v adds timings and memory use to stderr
    assert (rc, err) == (0, expected_err)
    assert out == stp.with_suffix(".p2").read_text()


@pytest.mark.parametrize("stp", cases("ko"), ids=lambda p: p.stem)
def test_ko(stp):
    rc, out, err = run_stapy(stp)
    assert err == stp.with_suffix(".err").read_text()
    assert rc == 1
