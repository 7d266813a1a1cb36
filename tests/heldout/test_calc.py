"""calc: recursion, function pointers through a dispatch table, strings, -c with quoted arguments.

Expected values: the program's own `truth` lines; the recursive functions' hits (how many and with which
arguments, which -O2 changes by turning recursion into loops) from gdb's dprintf at the same functions.
"""
from __future__ import annotations

import math

import pytest

from heldout_harness import OPTS, build, gdb_dprintf, split, stap

ARGS = ["5", "x y", "12", "-3"]
CMD_ARGS = '5 "x y" 12 -3'


def script(exe: str) -> str:
    return f'''
global acks, depth, maxdepth
probe begin {{ printf("begin_target %d\\n", target()) }}
probe process("{exe}").function("parse_word") {{ printf("pw %s %d %s\\n", user_string_n($word, $len), $len, $$parms) }}
probe process("{exe}").function("parse_word").return {{ printf("pwr %d %s\\n", $return, user_string(@entry($out))) }}
probe process("{exe}").function("apply") {{
  printf("apply %s %d %d fn=%s\\n", user_string($o->sym), $a, $b, usymname($o->fn))
}}
probe process("{exe}").function("op_*") {{ printf("op %s %d %d\\n", probefunc(), $a, $b) }}
probe process("{exe}").function("op_*").return {{ printf("opr %s %d\\n", ppfunc(), $return) }}
probe process("{exe}").function("fact") {{
  printf("fact %d\\n", $n)
  if (++depth[tid()] > maxdepth) maxdepth = depth[tid()]
}}
probe process("{exe}").function("fact").return {{ depth[tid()]--; printf("factr %d %d\\n", @entry($n), $return) }}
probe process("{exe}").function("ackermann").call {{ printf("ack %d %d\\n", $m, $n); acks[$m] <<< $n }}
probe process("{exe}").function("main").return {{ printf("mainret %d %d\\n", $return, pid() == target()) }}
probe end {{
  foreach (m+ in acks) printf("agg %d %d %d %d %d\\n", m, @count(acks[m]), @sum(acks[m]), @min(acks[m]), @max(acks[m]))
  printf("maxdepth %d\\n", maxdepth)
}}
'''


@pytest.fixture(scope="module", params=OPTS)
def run(request):
    opt = request.param
    exe = str(build("calc", opt) / "calc")
    p = stap(script(exe), "-c", f"{exe} {CMD_ARGS}")
    truth, got = split(p.stdout)
    return opt, exe, p, truth, got


@pytest.fixture(scope="module")
def oracle(run):
    opt, exe, *_ = run
    return gdb_dprintf(exe, ARGS, [("fact", "fact %d", "n"), ("ackermann", "ack %ld %ld", "m, n")])


def test_exit_status(run):
    opt, exe, p, truth, got = run
    status = int(truth["status"][0])
    assert p.returncode == 1, p.stderr  # staprun: my_exit(1) when target_pid_failed_p
    assert p.stderr == f"WARNING: Child process exited with status {status}\n"
    assert [r.split()[0] for r in got["mainret"]] == [str(status)]


def test_target_is_the_command(run):
    opt, exe, p, truth, got = run
    assert got["mainret"] == [f"{truth['status'][0]} 1"]


@pytest.mark.parametrize("key", ["pw", "pwr", "apply", "op", "opr"])
def test_values(run, key):
    opt, exe, p, truth, got = run
    assert truth[key]
    assert got[key] == truth[key], p.stderr


def test_recursion_entries_match_gdb(run, oracle):
    opt, exe, p, truth, got = run
    assert got["fact"] == oracle["fact"]
    assert got["ack"] == oracle["ack"]
    assert len(got["ack"]) >= 20


def _runs(entries: list[int]) -> list[list[int]]:
    """Split fact's entries into nested chains n, n-1, ..., 1 (one chain per outer call)."""
    runs: list[list[int]] = []
    for n in entries:
        if runs and runs[-1][-1] == n + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def test_recursion_returns(run, oracle):
    """Every entry returns once, innermost first; @entry($n) pairs with $return == n!."""
    opt, exe, p, truth, got = run
    runs = _runs([int(x) for x in oracle["fact"]])
    want = [f"{n} {math.factorial(n)}" for r in runs for n in reversed(r)]
    assert got["factr"] == want
    assert got["maxdepth"] == [str(max(len(r) for r in runs))]


def test_aggregates(run, oracle):
    opt, exe, p, truth, got = run
    by_m: dict[int, list[int]] = {}
    for line in oracle["ack"]:
        m, n = map(int, line.split())
        by_m.setdefault(m, []).append(n)
    want = [f"{m} {len(v)} {sum(v)} {min(v)} {max(v)}" for m, v in sorted(by_m.items())]
    assert got["agg"] == want


def test_target_in_begin(run):
    opt, exe, p, truth, got = run
    assert got["begin_target"] != ["0"]
