"""sdt: <sys/sdt.h> markers with string, negative and 64-bit arguments; $argN, $$name, $$provider, $$parms.

Expected values: the program's own `truth` lines; the marker addresses from `readelf --notes`.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from heldout_harness import OPTS, build, split, stap


def script(exe: str) -> str:
    return f'''
probe process("{exe}").mark("request__start") {{
  printf("start %d %s %d %s %s\\n", $arg1, user_string($arg2), $arg3, $$name, $$provider)
  printf("pp %s\\n", pp())
  printf("pn %s\\n", pn())
}}
probe process("{exe}").provider("httpd").mark("request__done") {{ printf("done %d %d parms=[%s]\\n", $arg1, $arg2, $$parms) }}
probe process("{exe}").mark("boot") {{ printf("boot %s\\n", $$name) }}
probe process("{exe}").mark("mixed") {{ printf("mixed %d %d %d %d %d\\n", $arg1, $arg2, $arg3, $arg4, $arg5) }}
probe process("{exe}").mark("shutdown") {{ printf("shutdown %d\\n", $arg1) }}
'''


@pytest.fixture(scope="module", params=OPTS)
def run(request):
    exe = str(build("sdt", request.param) / "sdt")
    p = stap(script(exe), "-c", exe)
    truth, got = split(p.stdout)
    return exe, p, truth, got


def test_runs_clean(run):
    exe, p, truth, got = run
    assert p.returncode == 0 and p.stderr == "", p.stderr


@pytest.mark.parametrize("key", ["boot", "start", "done", "mixed", "shutdown"])
def test_values(run, key):
    exe, p, truth, got = run
    assert truth[key]
    assert got[key] == truth[key]


def test_pp_is_the_note_address(run):
    exe, p, truth, got = run
    if not shutil.which("readelf"):
        pytest.skip("readelf not installed")
    notes = subprocess.run(["readelf", "--notes", exe], capture_output=True, text=True).stdout
    m = re.search(r"Name: request__start\s+Location: (0x[0-9a-f]+)", notes)
    assert m, notes
    assert got["pp"] == [f'process("{exe}").statement({hex(int(m.group(1), 16))})'] * 6


def test_pn_is_the_script_level_point(run):
    exe, p, truth, got = run
    assert got["pn"] == [f'process("{exe}").mark("request__start")'] * 6
