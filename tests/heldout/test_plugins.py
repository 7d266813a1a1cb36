"""plugins: a program linked against a shared library and dlopen()ing another; .library(), process("lib.so"),
a probe in a library loaded after the start, .plt("malloc"), backtraces across modules, umodname.

Expected values: the program's own `truth` lines (the plugin records its return address).
"""
from __future__ import annotations

import re

import pytest

from heldout_harness import OPTS, build, split, stap


def script(d) -> str:
    host, geom, plug = d / "host", d / "libgeom.so", d / "libplugin.so"
    return f'''
global shown
probe process("{host}").library("libgeom.so").function("poly_area2") {{
  printf("pa %s %d tag2=%d\\n", user_string($p->name), $p->n, $p->pts[2]->tag)
  printf("ppa %s|%s\\n", pp(), umodname(uaddr()))
  printf("pn %s\\n", pn())
}}
probe process("{host}").library("libgeom.so").function("poly_area2").return {{ printf("par %d\\n", $return) }}
probe process("{geom}").function("geom_setup") {{ printf("setup %d\\n", $level) }}
probe process("{geom}").function("poly_tagsum") {{ printf("ts %d %s\\n", $bias, $p$) }}
probe process("{geom}").function("poly_tagsum").return {{ printf("tsr %d\\n", $return) }}
probe process("{plug}").function("plugin_handle") {{
  printf("plug %s %d %s %x\\n", user_string($rq->verb), $rq->level, user_string($arg), $rq->cookie)
  printf("bt %s\\n", ubacktrace())
  if (!shown++) print_ubacktrace()
}}
probe process("{plug}").function("plugin_handle").return {{ printf("plugr %d %d\\n", $return, @var("plugin_hits")) }}
probe process("{host}").plt("malloc") {{ printf("plt %s\\n", pp()) }}
probe process("{host}").plt("malloc").return {{ printf("pltret 0x%x\\n", returnval()) }}
'''


@pytest.fixture(scope="module", params=OPTS)
def run(request):
    d = build("plugins", request.param)
    p = stap(script(d), "-c", str(d / "host"))
    truth, got = split(p.stdout)
    return d, p, truth, got


def test_runs_clean(run):
    d, p, truth, got = run
    assert p.returncode == 0 and p.stderr == "", p.stderr


@pytest.mark.parametrize("key", ["pa", "par", "ts", "tsr", "plug", "plugr"])
def test_values(run, key):
    d, p, truth, got = run
    assert truth[key]
    assert got[key] == truth[key]


def test_library_context(run):
    d, p, truth, got = run
    lib = d / "libgeom.so"
    assert len(got["ppa"]) == 4
    assert all(re.fullmatch(rf'process\("{re.escape(str(lib))}"\)\.function\("poly_area2@[^"]+/libgeom\.c:\d+"\)\|'
                            + re.escape(str(lib)), x) for x in got["ppa"]), got["ppa"]


def test_backtrace_from_dlopened(run):
    d, p, truth, got = run
    # (the program's own __builtin_return_address sees the .return probe's trampoline, as under stap)
    frames = [ln for ln in p.stdout.splitlines() if ln.startswith(" 0x")]
    assert len({b.split()[1] for b in got["bt"]}) == 1 and got["bt"][0].split()[:2] == [f.split()[0] for f in frames[:2]]
    assert re.fullmatch(r" 0x[0-9a-f]+ : plugin_handle\+0x[0-9a-f]+/0x[0-9a-f]+ \["
                        + re.escape(str(d / "libplugin.so")) + r"\]", frames[0]), frames
    assert frames[1].split()[2].startswith("main+0x") and frames[1].endswith(f"[{d / 'host'}]")


def test_plt(run):
    d, p, truth, got = run
    assert len(got["plt"]) == 1
    assert re.fullmatch(rf'process\("{re.escape(str(d / "host"))}"\)\.statement\(0x[0-9a-f]+\)', got["plt"][0])
    assert got["pltret"] == truth["pltret"]


def test_library_pn(run):
    d, p, truth, got = run
    pp = got["ppa"][0].split("|")[0]
    func = pp[pp.index(".function("):]
    assert got["pn"] == [f'process("{d / "host"}").library("{d / "libgeom.so"}"){func}'] * 4


def test_probe_fires_in_library_constructor(run):
    d, p, truth, got = run
    assert got["setup"] == truth["setup"] == ["7"]
