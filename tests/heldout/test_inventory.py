"""inventory: a two-file C program with nested structs, arrays, unions, enums, bitfields, a linked list.

Expected values: the program prints its own (`truth KEY ...`) in the format stap gives the same
expression ($$parms `name=%#x`, $v$ / $v$$ as tapsets.cxx's dwarf_pretty_print builds them).
"""
from __future__ import annotations

import re

import pytest

from heldout_harness import OPTS, PROGS, build, decl_line, line_of, split, stap

SRC = PROGS / "inventory"


def script(exe: str, opt: str) -> str:
    stmt = line_of(SRC / "main.c", "/* STMT */")
    s = f'''
global shown
probe process("{exe}").function("make_item") {{
  printf("mk %d %s %d %d %d %d\\n", $id, user_string($name), $k, $w, $h, $cents)
  printf("parms %s\\n", $$parms)
}}
probe process("{exe}").function("make_item").return {{
  printf("made %d %s shelf=%d rating=%d frag=%d d2=%d cur=%s qty=%d\\n", $return->id, user_string($return->name),
         $return->shelf, $return->rating, $return->fragile, $return->dims->depth[2],
         user_string($return->price->currency), $return->amount->qty)
}}
probe process("{exe}").function("inv_add") {{
  printf("add count=%d gv=%d dims=%s full=%s cur=%s slot=%d price=%d cast=%d\\n", $inv->count,
         @var("global_version"), $it->dims$, $it->dims$$, $it->price->currency$,
         &$inv->slots[1] - &$inv->slots[0], &$it->price - $it, @cast($it, "struct item")->dims->h)
  printf("pp %s|%s|%s|%d\\n", pp(), probefunc(), execname(), pid() == target())
}}
probe process("{exe}").function("kind_name") {{
  printf("kn %d %s\\n", $k, $k$)
  printf("bt %s\\n", ubacktrace())
  if (!shown++) print_ubacktrace()
}}
probe process("{exe}").function("item_value") {{ printf("iv %s\\n", $it$); printf("ivp %s\\n", $$parms$) }}
probe process("{exe}").function("item_value").return {{
  printf("ivr %d %d %d\\n", $return, @entry($it->id), @entry($discount))
}}
probe process("{exe}").function("inv_total") {{ printf("tot %s\\n", $inv$$) }}
probe process("{exe}").function("inv_total").return {{ printf("totr %d %s\\n", $return, $$return) }}
'''
    if opt == "O0":  # at -O2 the line's address is a matter of taste (gdb and stap pick different ones)
        s += f'''probe process("{exe}").statement("inv_total@main.c:{stmt}") {{
  printf("stmt n=%d sum=%d id=%d\\n", $n, $sum, $p->id)
}}
'''
    return s


@pytest.fixture(scope="module", params=OPTS)
def run(request):
    opt = request.param
    exe = str(build("inventory", opt) / "inventory")
    p = stap(script(exe, opt), "-c", exe)
    truth, got = split(p.stdout)
    return opt, exe, p, truth, got


def test_runs_clean(run):
    opt, exe, p, truth, got = run
    assert p.returncode == 0, p.stderr
    assert "ERROR" not in p.stderr and "WARNING" not in p.stderr, p.stderr


@pytest.mark.parametrize("key", ["mk", "parms", "made", "add", "kn", "iv", "ivr", "tot", "totr", "stmt"])
def test_values(run, key):
    opt, exe, p, truth, got = run
    if key == "stmt" and opt != "O0":
        pytest.skip("statement probe checked at -O0 only")
    assert truth[key], key
    assert got[key] == truth[key], p.stderr


def test_parms_pretty(run):
    """$$parms$ is `name=$name$` joined by spaces."""
    opt, exe, p, truth, got = run
    assert got["ivp"] == [f"it={v} discount=10" for v in truth["iv"]]


def test_context(run):
    opt, exe, p, truth, got = run
    line = decl_line(SRC / "main.c", r"int inv_add\(")
    pp = f'process("{exe}").function("inv_add@{SRC / "main.c"}:{line}")'
    assert got["pp"] == [f"{pp}|inv_add|inventory|1"] * 5


def test_backtrace(run):
    """ubacktrace()'s second frame is kind_name's return address, as the program saw it."""
    opt, exe, p, truth, got = run
    callers = [b.split()[1] for b in got["bt"]]
    assert callers == truth["caller"]
    frames = [ln for ln in p.stdout.splitlines() if ln.startswith(" 0x")]
    assert re.fullmatch(r" 0x[0-9a-f]+ : kind_name\+0x[0-9a-f]+/0x[0-9a-f]+ \[" + re.escape(exe) + r"\]", frames[0])
    assert frames[1].startswith(f" {truth['caller'][0]} : main+0x")
