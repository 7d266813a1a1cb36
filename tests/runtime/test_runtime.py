"""Runs the directive files tests/runtime/*.test (bpftrace's tests/runtime style).

A file holds cases separated by blank lines; each case is directive lines:
  NAME n            starts a case
  PROG script       the script (-e); may repeat: lines are joined with newlines
  ARGS a b          extra words ($1 ...)
  DEFINE N=V        a -D limit (repeatable)
  EXPECT line       stdout must equal the EXPECT lines joined (repeatable; EXPECT_NONE: empty output)
  EXPECT_REGEX re   stdout must match (re.search, MULTILINE)
  STDERR text       stderr must contain text (repeatable)
  STDERR_NONE       stderr must be empty
  EXIT n            exit status (default 0)
  TIMEOUT s         -T s (every case gets -T 30 as a safety net: a runaway case then fails, not hangs)
  GLOBAL name=val   -G name=val (repeatable)
  OPTION name=val   any other Options field (int, or the literal text), e.g. OPTION timing=1
  REQUIRES module   skip unless the module imports
Cases run in-process through Session(Options(script_text=...)).main().
"""
from __future__ import annotations

import importlib
import io
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def load_cases():
    cases = []
    for path in sorted(HERE.glob("*.test")):
        cur = None
        for raw in path.read_text().splitlines():
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            key, _, rest = line.partition(" ")
            if key == "NAME":
                cur = {"name": f"{path.stem}:{rest}", "prog": [], "expect": None, "regex": [], "stderr": [],
                       "exit": 0, "args": [], "defines": [], "requires": [], "timeout": None, "stderr_none": False, "options": {}}
                cases.append(cur)
            elif cur is None:
                raise ValueError(f"{path}: directive before NAME: {line}")
            elif key == "PROG":
                cur["prog"].append(rest)
            elif key == "EXPECT":
                cur["expect"] = (cur["expect"] or []) + [rest]
            elif key == "EXPECT_NONE":
                cur["expect"] = []
            elif key == "EXPECT_REGEX":
                cur["regex"].append(rest)
            elif key == "STDERR":
                cur["stderr"].append(rest)
            elif key == "STDERR_NONE":
                cur["stderr_none"] = True
            elif key == "EXIT":
                cur["exit"] = int(rest)
            elif key == "ARGS":
                cur["args"] = rest.split()
            elif key == "DEFINE":
                n, _, v = rest.partition("=")
                cur["defines"].append((n, v or None))
            elif key == "TIMEOUT":
                cur["timeout"] = float(rest)
            elif key == "GLOBAL":
                n, _, v = rest.partition("=")
                cur["options"].setdefault("global_inits", ())
                cur["options"]["global_inits"] += ((n, v),)
            elif key == "OPTION":
                n, _, v = rest.partition("=")
                cur["options"][n] = int(v) if v.lstrip("-").isdigit() else v
            elif key == "REQUIRES":
                cur["requires"].append(rest)
            else:
                raise ValueError(f"{path}: unknown directive {key}")
    return cases


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_runtime(case):
    for mod in ["stapy.parser.frontend", "stapy.semantic.pipeline", *case["requires"]]:
        try:
            importlib.import_module(mod)
        except ImportError as e:
            pytest.skip(f"{mod} not available: {e}")
    from stapy.options import Options
    from stapy.session import Session

    opts = Options(script_text="\n".join(case["prog"]), args=tuple(case["args"]), defines=tuple(case["defines"]),
                   timeout=case["timeout"] or 30, **case["options"])
    out, err = io.StringIO(), io.StringIO()
    status = Session(opts, out, err).main()
    stdout, stderr = out.getvalue(), err.getvalue()
    detail = f"\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    if case["expect"] is not None:
        want = "".join(line + "\n" for line in case["expect"])
        assert stdout == want, detail
    for rx in case["regex"]:
        assert re.search(rx, stdout, re.MULTILINE), f"no match for {rx!r}" + detail
    for text in case["stderr"]:
        assert text in stderr, f"stderr lacks {text!r}" + detail
    if case["stderr_none"]:
        assert stderr == "", detail
    assert status == case["exit"], detail
