"""Processes coming and going under the engine: fork, vfork, exec, signals, attach, detach."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from conftest import build_target
from enginefix import H, watchdog  # noqa: F401  (fixtures)
from stapy.debuginfo import elf
from stapy.runtime.engine import Engine


def engine(watchdog, **kw) -> Engine:
    return watchdog.watch(Engine(**kw))


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_fork_children_carry_probes(H, watchdog, hot):
    exe = str(build_target("engine_lifecycle.c", flags=("-O2", "-g")))
    begun, ended = [], []

    class Hooks:
        def process_begin(self, pid):
            begun.append(pid)

        def process_end(self, pid, status):
            ended.append(pid)

    e = engine(watchdog, hotloop=hot, hooks=Hooks())
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.add_probe(exe, "f", H["ret"], "return", 1)
    e.launch([exe, "fork", "12", "50"])
    assert e.run() == "exited"
    assert e.target_status == 0
    assert H.counts[0] == 13 * 50 and H.counts[1] == 13 * 50
    assert H.rets[1] == 13 * sum(i + 1 for i in range(50))
    assert len(begun) == 13 and sorted(ended) == sorted(begun)


def test_exec_rearms(H, watchdog):
    exe = str(build_target("engine_lifecycle.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    execs = []

    class Hooks:
        def exec(self, pid, path):
            execs.append(path)

    e.launch([exe, "exec"])
    assert e.run(Hooks()) == "exited" and e.target_status == 0
    assert H.counts[0] == 3 + 5
    assert execs == [exe]


def test_vfork_exec_child(H, watchdog):
    exe = str(build_target("engine_lifecycle.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.launch([exe, "vfork"])
    assert e.run() == "exited" and e.target_status == 0
    assert H.counts[0] == 1 + 2 + 1


def test_launch_through_shell(H, watchdog):
    exe = str(build_target("engine_lifecycle.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.launch(f"{exe} calls 4 > /dev/null")
    assert e.run() == "exited" and e.target_status == 0
    assert H.counts[0] == 4


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_programs_own_signals(H, watchdog, hot, capfd):
    """Its SIGTRAPs reach its handler; a SIGSEGV from the displaced first instruction of a probed
    function reaches its SIGSEGV handler with the original fault address."""
    exe = str(build_target("engine_signals.c", flags=("-O0",)))
    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.add_probe(exe, "loadit", H["args"], "entry", 1)
    e.launch([exe])
    assert e.run() == "exited"
    out = capfd.readouterr().out
    assert e.target_status == 0, out
    assert "traps=2 segvs=1 addr=0x10 ok=5" in out
    assert H.counts[0] == 2
    assert H.counts[1] >= 2 and H.last_rdi[1] == 16


@pytest.mark.parametrize("returns", [False, True], ids=["entry", "entry+return"])
def test_session_end_leaves_command_running(H, watchdog, tmp_path, returns):
    """exit() from a handler ends the session first: the command keeps running, untraced, to its end."""
    exe = str(build_target("engine_recurse.c", flags=("-O0", "-g")))
    e = engine(watchdog)
    e.add_probe(exe, "tick", H["exit"], "entry", 0)
    if returns:
        e.add_probe(exe, "tick", H["ret"], "return", 1)
    out = tmp_path / "out"
    pid = e.launch(f"exec {exe} sleep 10 > {out}")
    watchdog.pids.append(pid)
    assert e.run() == "stopped"
    e.detach_all()
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert out.read_text() == "sleep %d\n" % sum(range(1, 11))
    assert H.counts[0] == 1


def _text_matches_file(pid: int, path: str) -> bool:
    """Every executable byte of path as mapped in pid equals the file's bytes."""
    ef = elf.open_elf(path)
    bias = elf.load_bias(pid, path)
    with open(path, "rb") as f, open(f"/proc/{pid}/mem", "rb") as mem:
        for seg in ef.segments:
            if seg.flags & 1:
                f.seek(seg.offset)
                want = f.read(seg.filesz)
                mem.seek(seg.vaddr + bias)
                if mem.read(seg.filesz) != want:
                    return False
    return True


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_attach_detach_leaves_process_as_found(H, watchdog, hot):
    exe = str(build_target("engine_recurse.c", flags=("-O2", "-g")))
    proc = subprocess.Popen([exe, "sleep", "40"], stdout=subprocess.PIPE, text=True)
    watchdog.pids.append(proc.pid)
    time.sleep(0.1)
    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "tick", H["count"], "entry", 0)
    e.add_probe(exe, "tick", H["ret"], "return", 1)
    e.attach(proc.pid)
    maps_before = open(f"/proc/{proc.pid}/maps").read()

    class Hooks:
        def __init__(self):
            self.t = time.monotonic() + 0.3
            self.fired = 0

        def next_deadline(self):
            return self.t if not self.fired else None

        def on_deadline(self, now):
            self.fired += 1
            e.request_stop("timer")

    hooks = Hooks()
    assert e.run(hooks) == "timer" and hooks.fired == 1
    e.detach_all()
    assert _text_matches_file(proc.pid, exe)
    assert "[heap]" in maps_before or True
    maps_after = open(f"/proc/{proc.pid}/maps").read()
    assert len(maps_after.splitlines()) == len(maps_before.splitlines()) - 1  # the XOL area is gone
    status = open(f"/proc/{proc.pid}/status").read()
    assert "TracerPid:\t0" in status
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out == "sleep %d\n" % sum(range(1, 41))
    assert 5 <= H.counts[0] <= 30 and H.counts[1] >= H.counts[0] - 1


def test_sigterm_to_tracer_ends_session(H, watchdog):
    exe = str(build_target("engine_recurse.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "tick", H["count"], "entry", 0)
    pid = e.launch([exe, "sleep", "30"])
    watchdog.pids.append(pid)

    class Hooks:
        t = time.monotonic() + 0.2

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            self.t = 1e18
            os.kill(os.getpid(), signal.SIGTERM)

    assert e.run(Hooks()) == "signal"
    e.detach_all()
    _, status = os.waitpid(pid, 0)
    assert status == 0


def test_group_stop_is_kept(H, watchdog):
    """SIGSTOP sent to the traced program stops it (PTRACE_LISTEN), SIGCONT resumes it."""
    exe = str(build_target("engine_recurse.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "tick", H["count"], "entry", 0)
    pid = e.launch([exe, "sleep", "15"])
    watchdog.pids.append(pid)
    seen = {}

    class Hooks:
        step = 0
        t = time.monotonic() + 0.1

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            if self.step == 0:
                os.kill(pid, signal.SIGSTOP)
            elif self.step == 1:
                seen["stopped_count"] = H.counts[0]
                seen["state"] = open(f"/proc/{pid}/stat").read().split(")")[1].split()[0]
            elif self.step == 2:
                seen["still"] = H.counts[0]
                os.kill(pid, signal.SIGCONT)
            self.step += 1
            self.t = now + 0.15 if self.step < 3 else 1e18

    assert e.run(Hooks()) == "exited"
    assert seen["state"] == "t"  # traced-stopped, not running
    assert seen["still"] == seen["stopped_count"]
    assert H.counts[0] == 15 and e.target_status == 0


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_detach_under_load_loses_nothing(H, watchdog, hot):
    """Stop mid-run while 8 threads hit entry and return probes: after detach the program
    finishes with exactly the result it computes untraced."""
    exe = str(build_target("engine_calls.c", flags=("-O2", "-g")))
    want = subprocess.run([exe, "4000", "8"], capture_output=True, text=True)
    ended = []

    class Hooks:
        t = time.monotonic() + 0.4

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            self.t = 1e18
            e.request_stop("timer")

        def thread_end(self, pid, tid):
            ended.append(tid)

    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.add_probe(exe, "g", H["ret"], "return", 1)
    e.add_probe(exe, "h", H["string"], "entry", 2)
    out = subprocess.PIPE
    pid = e.launch(["/bin/sh", "-c", f"exec {exe} 4000 8 > /dev/null"])
    watchdog.pids.append(pid)
    assert e.run(Hooks()) == "timer"
    assert H.counts[0] > 0
    e.detach_all()
    _, status = os.waitpid(pid, 0)
    assert status == want.returncode << 8
    del out


def test_thread_end_hooks(H, watchdog):
    exe = str(build_target("engine_calls.c", flags=("-O0",)))
    began, ended = [], []

    class Hooks:
        def thread_begin(self, pid, tid):
            began.append(tid)

        def thread_end(self, pid, tid):
            ended.append(tid)

    e = engine(watchdog, hooks=Hooks())
    e.add_probe(exe, "f", H["count"], "entry", 0)
    pid = e.launch([exe, "10", "4"])
    assert e.run() == "exited"
    # the main thread dies last: that is the process's end, not a thread end (stap's task finder)
    assert len(began) == 4 and set(began) == set(ended) and pid not in ended


def test_sigint_to_tracer_ends_session(H, watchdog):
    exe = str(build_target("engine_recurse.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "tick", H["count"], "entry", 0)
    e.add_probe(exe, "tick", H["ret"], "return", 1)
    pid = e.launch([exe, "sleep", "20"])
    watchdog.pids.append(pid)

    class Hooks:
        t = time.monotonic() + 0.15

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            self.t = 1e18
            os.kill(os.getpid(), signal.SIGINT)

    assert e.run(Hooks()) == "signal"
    e.detach_all()
    _, status = os.waitpid(pid, 0)
    assert status == 0


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_attach_to_running_threads(H, watchdog, hot):
    """-x on a 4-thread process: every thread is seized, probes fire in all, detach leaves the
    program to finish with its untraced result and its text identical to the file."""
    exe = str(build_target("engine_calls.c", flags=("-O2", "-g")))
    want = subprocess.run([exe, "150", "4"], capture_output=True, text=True)
    proc = subprocess.Popen([exe, "150", "4", "3000"], stdout=subprocess.PIPE, text=True)
    watchdog.pids.append(proc.pid)
    time.sleep(0.1)
    begun = []

    class Begin:
        def process_begin(self, pid):
            begun.append(pid)

        def thread_begin(self, pid, tid):
            begun.append(tid)

    e = engine(watchdog, hotloop=hot, hooks=Begin())
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.add_probe(exe, "g", H["ret"], "return", 1)
    e.attach(proc.pid)
    assert len(e.procs[proc.pid].threads) == 5
    assert begun[0] == proc.pid and sorted(begun) == sorted(e.procs[proc.pid].threads)

    class Hooks:
        t = time.monotonic() + 0.2

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            self.t = 1e18
            e.request_stop("timer")

    assert e.run(Hooks()) == "timer"
    assert H.counts[0] >= 4 and H.counts[1] >= 4
    e.detach_all()
    assert _text_matches_file(proc.pid, exe)
    out, _ = proc.communicate(timeout=20)
    assert (proc.returncode, out) == (want.returncode, want.stdout)


def test_poll_for_a_driver_owned_loop(H, watchdog):
    """poll(timeout) serves stops in slices, as run.py's event loop calls its event sources."""
    exe = str(build_target("engine_recurse.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "tick", H["count"], "entry", 0)
    e.launch([exe, "sleep", "10"])
    slices = 0
    t0 = time.monotonic()
    while True:
        r = e.poll(0.05)
        slices += 1
        if r is not None:
            break
    assert r == "exited" and e.finished and e.target_status == 0
    assert H.counts[0] == 10
    assert slices >= 4 and time.monotonic() - t0 < 5


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_target_killed_while_hitting(H, watchdog, hot):
    """SIGKILL from outside while 8 threads hit probes: the session ends with stap's warning."""
    exe = str(build_target("engine_calls.c", flags=("-O2",)))
    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.add_probe(exe, "g", H["ret"], "return", 1)
    pid = e.launch([exe, "1000000", "8"])

    class Hooks:
        t = time.monotonic() + 0.3

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            self.t = 1e18
            os.kill(pid, signal.SIGKILL)

    assert e.run(Hooks()) == "exited"
    assert e.child_exit_warning() == "Child process exited with signal 9 (Killed)"
    e.detach_all()


def test_poll_zero_drains_without_blocking(H, watchdog):
    exe = str(build_target("engine_calls.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.launch([exe, "200"])
    t0 = time.monotonic()
    polls = 0
    while e.poll(0) is None:
        polls += 1
        assert time.monotonic() - t0 < 10
    assert H.counts[0] == 200 and e.target_status is not None and polls > 0


def test_attach_to_stopped_process_leaves_it_stopped(H, watchdog):
    """-x on a job-control-stopped process: it stays stopped while traced and after detach,
    and SIGCONT then lets it finish normally."""
    exe = str(build_target("engine_recurse.c", flags=("-O0",)))
    proc = subprocess.Popen([exe, "sleep", "10"], stdout=subprocess.PIPE, text=True)
    watchdog.pids.append(proc.pid)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(0.05)
    e = engine(watchdog)
    e.add_probe(exe, "tick", H["count"], "entry", 0)
    e.attach(proc.pid)

    class Hooks:
        t = time.monotonic() + 0.2

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            self.t = 1e18
            e.request_stop("timer")

    before = H.counts[0]
    assert e.run(Hooks()) == "timer"
    assert H.counts[0] == before  # stopped: no hits
    e.detach_all()
    # detach re-enters the group-stop (the kernel wakes the thread to do so): wait for it to settle
    for _ in range(100):
        state = open(f"/proc/{proc.pid}/stat").read().split(")")[1].split()[0]
        if state == "T":
            break
        time.sleep(0.01)
    assert state == "T"
    time.sleep(0.1)
    assert open(f"/proc/{proc.pid}/stat").read().split(")")[1].split()[0] == "T"
    assert "TracerPid:\t0" in open(f"/proc/{proc.pid}/status").read()
    os.kill(proc.pid, signal.SIGCONT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out == "sleep %d\n" % sum(range(1, 11))


def test_attach_stopped_then_continued_arms_probes(H, watchdog):
    exe = str(build_target("engine_recurse.c", flags=("-O0",)))
    proc = subprocess.Popen([exe, "sleep", "12"], stdout=subprocess.PIPE, text=True)
    watchdog.pids.append(proc.pid)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(0.05)
    e = engine(watchdog)
    e.add_probe(exe, "tick", H["count"], "entry", 0)
    e.add_probe(exe, "tick", H["ret"], "return", 1)
    e.attach(proc.pid)
    assert e.procs[proc.pid].arm_pending

    class Hooks:
        step = 0
        t = time.monotonic() + 0.1

        def next_deadline(self):
            return self.t

        def on_deadline(self, now):
            self.step += 1
            if self.step == 1:
                os.kill(proc.pid, signal.SIGCONT)
                self.t = now + 0.12
            else:
                self.t = 1e18
                e.request_stop("timer")

    assert e.run(Hooks()) == "timer"
    assert 2 <= H.counts[0] <= 8
    e.detach_all()
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out == "sleep %d\n" % sum(range(1, 13))
