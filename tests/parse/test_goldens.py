"""Pass 1 against stap 4.8 goldens: tests/parse/ok/*.p1 (listing) and ko/*.err (errors).

The goldens were recorded from stap48 by record_goldens.py; stapy must print
the same bytes.  Scripts run as `-e` text, so locations read `<input>`.
"""
from __future__ import annotations

import io
import os

import pytest

from stapy.options import Options
from stapy.session import Session
from tests.parse.record_goldens import directives

HERE = os.path.dirname(os.path.abspath(__file__))


def options_for(text: str) -> Options:
    flags, args = directives(text)
    kw: dict = {}
    for f in flags:
        if f == "-g":
            kw["guru"] = True
        elif f.startswith("--compatible="):
            kw["compatible"] = f.split("=", 1)[1]
        elif f == "--unprivileged":
            kw["unprivileged"] = True
        else:
            raise ValueError(f"unsupported flag in test header: {f}")
    return Options(script_text=text, last_pass=1, args=tuple(args), **kw)


def run_pass1(text: str):
    out, err = io.StringIO(), io.StringIO()
    rc = Session(options_for(text), out, err).main()
    return rc, out.getvalue(), err.getvalue()


def cases(kind):
    d = os.path.join(HERE, kind)
    return sorted(f[:-4] for f in os.listdir(d) if f.endswith(".stp"))


@pytest.mark.parametrize("name", cases("ok"))
def test_ok(name):
    base = os.path.join(HERE, "ok", name)
    with open(base + ".stp") as f:
        text = f.read()
    with open(base + ".p1") as f:
        golden = f.read()
    rc, out, err = run_pass1(text)
    assert (rc, err) == (0, "")
    assert out == golden


@pytest.mark.parametrize("name", cases("ko"))
def test_ko(name):
    base = os.path.join(HERE, "ko", name)
    with open(base + ".stp") as f:
        text = f.read()
    with open(base + ".err") as f:
        golden = f.read()
    rc, out, err = run_pass1(text)
    assert rc == 1
    assert out == ""
    assert err == golden
