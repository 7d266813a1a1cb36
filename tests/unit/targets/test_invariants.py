"""ENGINE.md "Invariants: nothing lost", through the real command line: on every way out the end (or
error) probes run as stap's rules say, output is flushed, the target is left as found (text bytes in
/proc/PID/mem equal the file on disk, no tracer) and goes on to finish with its own status."""
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, build_target, run_stapy

SCRIPT = r'''
global n
probe begin { printf("begin\n") }
probe process("@P@").function("tick") { n++; if (n == 3) printf("ready\n"); @ACTION@ }
probe end { printf("end n=%d\n", n) }
probe error { printf("error n=%d\n", n) }
'''
PR_SET_CHILD_SUBREAPER = 36
FOREVER = "100000"  # ticks of 10 ms: the target runs until told to stop


@pytest.fixture(scope="module")
def live():
    # Become the child subreaper: a -c command that outlives stapy is re-parented to this process,
    # which can then wait for it and see its own exit status.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield str(build_target("tgt_live.c", flags=("-O0", "-g")))
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def script(prog, action=""):
    return SCRIPT.replace("@P@", prog).replace("@ACTION@", action)


def wait_for(cond, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out")


def read_or_none(path):
    try:
        return Path(path).read_text()
    except OSError:
        return None


def assert_untouched(pid):
    """Every file-backed executable mapping reads back as the file; no tracer is left."""
    status = Path(f"/proc/{pid}/status").read_text()
    assert re.search(r"^TracerPid:\s+0$", status, re.M), status
    checked = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            parts = line.split()
            if len(parts) < 6 or "x" not in parts[1]:
                continue
            if not parts[5].startswith("/"):
                assert parts[5] in ("[vdso]", "[vsyscall]"), line  # no code area of stapy's left behind
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            with open(parts[5], "rb") as f:
                f.seek(int(parts[2], 16))
                disk = f.read(end - start)
            mem.seek(start)
            assert mem.read(len(disk)) == disk, f"text of {parts[5]} differs at {start:#x}"
            checked += 1
    assert checked >= 2  # the program and at least libc


def finish_child(d, pid, status=7):
    """Tell the detached target to stop; it finishes its own work and exits with its own status."""
    (d / "stop").write_text("")
    done = wait_for(lambda: read_or_none(d / "done"))
    _, raw = os.waitpid(pid, 0)  # ours since stapy left (subreaper)
    assert os.waitstatus_to_exitcode(raw) == status
    return done


def start_stapy(tmp_path, *args):
    out, err = open(tmp_path / "stdout", "w"), open(tmp_path / "stderr", "w")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "stapy", *args], stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL, env=env)


class Done:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_to_end(tmp_path, *args):
    """stapy with its output in files: a -c command left running keeps pipes open, files do not."""
    p = start_stapy(tmp_path, *args)
    try:
        rc = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    return Done(rc, (tmp_path / "stdout").read_text(), (tmp_path / "stderr").read_text())


def test_script_exit(live, tmp_path):
    r = run_to_end(tmp_path, "-e", script(live, "if (n == 5) exit()"), "-c", f"{live} {tmp_path} {FOREVER} 7")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "begin\nready\nend n=5\n"
    assert r.stderr == ""
    pid = int((tmp_path / "pid").read_text())
    assert_untouched(pid)
    assert finish_child(tmp_path, pid).startswith("ticks=")


def test_target_exit(live, tmp_path):
    r = run_stapy("-e", script(live), "-c", f"{live} {tmp_path} 20 0")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "begin\nready\nend n=20\n"
    assert (tmp_path / "done").read_text() == f"ticks=20 sum={sum(2 * i for i in range(20))}\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"])
def test_signal_to_stapy_with_c(live, tmp_path, sig):
    d = tmp_path / "t"
    d.mkdir()
    p = start_stapy(tmp_path, "-e", script(live), "-c", f"{live} {d} {FOREVER} 7")
    try:
        wait_for(lambda: "ready" in (tmp_path / "stdout").read_text())
        os.kill(p.pid, sig)
        assert p.wait(timeout=30) == 0, (tmp_path / "stderr").read_text()
    finally:
        if p.poll() is None:
            p.kill()
    out = (tmp_path / "stdout").read_text()
    m = re.fullmatch(r"begin\nready\nend n=(\d+)\n", out)
    assert m and int(m.group(1)) >= 3, out
    assert (tmp_path / "stderr").read_text() == ""
    pid = int((d / "pid").read_text())
    assert_untouched(pid)
    assert finish_child(d, pid).startswith("ticks=")


def test_sigterm_with_x_leaves_the_process_to_finish_with_its_own_status(live, tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    target = subprocess.Popen([live, str(d), FOREVER, "5"])
    try:
        wait_for(lambda: (d / "pid").exists())
        p = start_stapy(tmp_path, "-e", script(live), "-x", str(target.pid))
        try:
            wait_for(lambda: "ready" in (tmp_path / "stdout").read_text())
            os.kill(p.pid, signal.SIGTERM)
            assert p.wait(timeout=30) == 0, (tmp_path / "stderr").read_text()
        finally:
            if p.poll() is None:
                p.kill()
        assert re.fullmatch(r"begin\nready\nend n=\d+\n", (tmp_path / "stdout").read_text())
        assert_untouched(target.pid)
        (d / "stop").write_text("")
        assert target.wait(timeout=15) == 5
        assert (d / "done").read_text().startswith("ticks=")
    finally:
        if target.poll() is None:
            target.kill()


def test_maxerrors_runs_error_probes_not_end_probes(live, tmp_path):
    r = run_to_end(tmp_path, "-e", script(live, 'if (n == 5) error("boom")'), "-c",
                   f"{live} {tmp_path} {FOREVER} 7")
    assert r.returncode == 1
    assert r.stdout == "begin\nready\nerror n=5\n"
    assert r.stderr.startswith("ERROR: boom")
    assert "WARNING: Number of errors: 1, skipped probes: 0\n" in r.stderr
    assert r.stderr.endswith("Pass 5: run failed.  [man error::pass5]\n")
    pid = int((tmp_path / "pid").read_text())
    assert_untouched(pid)
    assert finish_child(tmp_path, pid).startswith("ticks=")


def test_internal_error(live, tmp_path, monkeypatch):
    """A bug in stapy (injected through the runner's test hook once the -c command is armed) is one
    ERROR line; the session ends in the error state: error probes run, the target is left as found."""
    monkeypatch.setenv("STAPY_INJECT_FAULT", "event_loop")
    r = run_to_end(tmp_path, "-e", script(live), "-c", f"{live} {tmp_path} {FOREVER} 7")
    assert r.returncode == 1
    assert r.stdout == "begin\nerror n=0\n"
    assert r.stderr.startswith("ERROR: internal error in stapy (a stapy bug, please report it): "
                               "RuntimeError: injected fault at event_loop")
    assert "Traceback" not in r.stderr
    assert r.stderr.endswith("Pass 5: run failed.  [man error::pass5]\n")
    pid = wait_for(lambda: read_or_none(tmp_path / "pid"))
    pid = int(pid)
    assert_untouched(pid)
    assert finish_child(tmp_path, pid).startswith("ticks=")
