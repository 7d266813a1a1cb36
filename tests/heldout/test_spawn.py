"""spawn: a program that fork()s and exec()s another; process("P").begin/.end as stap's task finder fires
them (runtime/linux/task_finder2.c: an exec ends the old path's process and begins the new one's).
Expected values: the pids the program prints (`truth parent/child`)."""
from __future__ import annotations

import pytest

from heldout_harness import build, split, stap


@pytest.fixture(scope="module")
def run():
    d = build("spawn", "O2")
    sp, job = d / "spawner", d / "job"
    script = f'''
probe process("{job}").begin {{ printf("jbegin %d %s\\n", pid(), execname()) }}
probe process("{job}").end {{ printf("jend %d %s\\n", pid(), execname()) }}
probe process("{job}").function("work") {{ printf("work %d %s\\n", pid(), user_string($what)) }}
probe process("{sp}").end {{ printf("send %d\\n", pid()) }}
'''
    p = stap(script, "-c", str(sp))
    truth, got = split(p.stdout)
    return p, truth, got


def test_function_probe_in_exec_child(run):
    p, truth, got = run
    assert p.returncode == 0, p.stderr
    assert got["work"] == [f"{c} {w}" for c, w in zip(truth["child"], ["alpha", "beta"])]


def test_begin_on_exec(run):
    p, truth, got = run
    assert [x.split()[0] for x in got["jbegin"]] == truth["child"]


def test_end_only_for_the_path(run):
    p, truth, got = run
    assert [x.split()[0] for x in got["jend"]] == truth["child"]


def test_end_execname(run):
    p, truth, got = run
    assert got["jend"] and all(x.split()[1:] == ["job"] for x in got["jend"])


def test_end_of_old_image_at_exec(run):
    p, truth, got = run
    assert sorted(got["send"]) == sorted(truth["child"] + truth["parent"])
    lines = [ln for ln in p.stdout.splitlines() if not ln.startswith("truth")]
    for c in truth["child"]:
        assert lines.index(f"send {c}") < next(i for i, ln in enumerate(lines) if ln.startswith(f"work {c} "))
