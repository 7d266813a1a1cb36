"""attach: `-x PID` on a running program; the script exits after a few hits and the program must go on
to finish normally with its own output unchanged.  Expected values: the program's own `truth` lines.
"""
from __future__ import annotations

import subprocess
import time

import pytest

from heldout_harness import build, split, stap


@pytest.mark.parametrize("opt", ["O2"])
def test_attach_and_detach(opt, tmp_path):
    exe = build("attach", opt) / "ticker"
    out = open(tmp_path / "out", "w+")
    stop = tmp_path / "stop"
    prog = subprocess.Popen([str(exe), "6000", str(stop)], stdout=out)
    try:
        for _ in range(200):
            out.seek(0)
            if out.read().startswith("pid"):
                break
            time.sleep(0.01)
        script = f'''
global hits
probe process("{exe}").function("on_tick") {{
  printf("tick %d %s %d\\n", $t->n, user_string($t->phase), $step)
  printf("ctx %d %s\\n", pid() == target(), execname())
  if (++hits == 5) exit()
}}
probe process("{exe}").function("on_tick").return {{ printf("ret %d %d\\n", @entry($t->n), $return) }}
'''
        p = stap(script, "-x", str(prog.pid), timeout=30)
        assert prog.poll() is None, "the program ended before the session"
        stop.write_text("")
        assert prog.wait(timeout=30) == 0
    finally:
        if prog.poll() is None:
            prog.kill()
            prog.wait()
    out.seek(0)
    truth, _ = split(out.read())
    _, got = split(p.stdout)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert len(got["tick"]) == 5, (p.stdout, p.stderr)
    first = truth["tick"].index(got["tick"][0])
    assert got["tick"] == truth["tick"][first:first + 5]
    assert got["ctx"] == ["1 ticker"] * 5
    # returns: every one seen before exit() pairs with its entry (the 5th may be cut off by exit)
    for r in got["ret"]:
        n, ret = map(int, r.split())
        assert ret == 3 * n and f"{n} " in " ".join(got["tick"]) + " "
    assert len(got["ret"]) >= 4, p.stdout
    n = int(truth["tick"][-1].split()[0]) + 1
    assert truth["sum"] == [str(3 * n * (n - 1) // 2)]
