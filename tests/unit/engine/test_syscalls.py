"""process.syscall in the engine: PTRACE_SYSCALL stops, entry told from exit, in the native loop and
in Python, with breakpoints, threads and fork alongside; the programs print their own truth."""
from __future__ import annotations

import ctypes
import re

import pytest
from llvmlite import ir

from conftest import build_target
from enginefix import H, watchdog  # noqa: F401  (fixtures)
from stapy.codegen import abi
from stapy.runtime.engine import Engine
from stapy.runtime.nativecode import compile_module

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
NR = 1024  # syscall numbers are folded into [0, 1024): 1000 is the test's unknown one


class SysHandlers:
    """ent[nr]++, arg1[nr] = rdi at entries; rcnt[nr]++, rlast[nr] = rax at exits (nr = orig_rax)."""

    def __init__(self):
        m = ir.Module(name="syscall_test_handlers")
        arr = ir.ArrayType(I64, NR)
        for g in ("ent", "arg1", "rcnt", "rlast", "uaddr"):
            gv = ir.GlobalVariable(m, arr, g)
            gv.initializer = ir.Constant(arr, None)

        def field(b, ctx, name):
            return b.load(b.gep(ctx, [ir.Constant(I64, getattr(abi.Context, name).offset)], source_etype=I8), typ=I64)

        def reg(b, regs, name):
            return b.load(b.gep(regs, [ir.Constant(I64, abi.REG_INDEX[name] * 8)], source_etype=I8), typ=I64)

        def slot(b, name, idx):
            return b.gep(m.get_global(name), [ir.Constant(I64, 0), idx])

        for name, count, value in (("sys_entry", "ent", "rdi"), ("sys_exit", "rcnt", "rax")):
            f = ir.Function(m, ir.FunctionType(I32, [PTR]), name)
            b = ir.IRBuilder(f.append_basic_block("e"))
            ctx = f.args[0]
            regs = b.inttoptr(field(b, ctx, "regs"), PTR)
            nr = b.and_(reg(b, regs, "orig_rax"), ir.Constant(I64, NR - 1))
            b.atomic_rmw("add", slot(b, count, nr), ir.Constant(I64, 1), "monotonic")
            b.store(reg(b, regs, value), slot(b, "arg1" if count == "ent" else "rlast", nr))
            b.store(field(b, ctx, "uaddr"), slot(b, "uaddr", nr))
            b.ret(ir.Constant(I32, abi.STATUS_OK))
        self.compiled = compile_module(m)
        for g in ("ent", "arg1", "rcnt", "rlast", "uaddr"):
            setattr(self, g, (ctypes.c_int64 * NR).from_address(self.compiled.engine.get_global_value_address(g)))

    def __getitem__(self, name):
        return self.compiled.address(name)


_sys = None


@pytest.fixture
def S():
    global _sys
    if _sys is None:
        _sys = SysHandlers()
    for a in (_sys.ent, _sys.arg1, _sys.rcnt, _sys.rlast, _sys.uaddr):
        ctypes.memset(ctypes.addressof(a), 0, ctypes.sizeof(a))
    return _sys


@pytest.fixture(scope="module")
def exe():
    return str(build_target("engine_syscalls.c", flags=("-O0", "-g")))


def run_target(watchdog, argv, probes, hot, capture, before_run=None):
    import os
    e = watchdog.watch(Engine(hotloop=hot))
    for args in probes:
        args(e)
    r, w = os.pipe()
    out = os.dup(1)
    os.dup2(w, 1)
    try:
        e.launch(argv)
    finally:
        os.dup2(out, 1)
        os.close(out)
        os.close(w)
    if before_run is not None:
        before_run(e)
    reason = e.run()
    text = os.read(r, 65536).decode()
    os.close(r)
    capture.append(text)
    return e, reason


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_entries_exits_arguments_and_returns(S, watchdog, exe, hot):
    out = []
    e, reason = run_target(watchdog, [exe, "calls", "25"], [
        lambda e: e.add_syscall_probe(S["sys_entry"], "syscall", 0),
        lambda e: e.add_syscall_probe(S["sys_exit"], "syscall.return", 1)], hot, out)
    assert reason == "exited" and e.target_status == 0
    m = re.search(r"fd=(\d+) wrote=(\d+) pid=(\d+) open=-1/(\d+) unknown=-1/(\d+)", out[0])
    fd, wrote, pid, enoent, enosys = map(int, m.groups())
    assert (wrote, enoent, enosys) == (25, 2, 38)
    # writes: 25 to the pipe, then the program's one printf to stdout (after our counting)
    assert S.ent[1] == 26 and S.rcnt[1] == 26 and S.rlast[1] == len(out[0])
    assert S.ent[39] == 3 and S.rcnt[39] == 3 and S.rlast[39] == pid            # getpid
    assert S.ent[1000] == 1 and S.rcnt[1000] == 1 and S.rlast[1000] == -enosys  # entry told from exit
    assert S.arg1[1000] == 1
    assert S.rlast[257] == -enoent                                           # the failing openat is the last
    assert S.ent[231] == 1 and S.rcnt[231] == 0                              # exit_group never returns
    assert S.uaddr[39] != 0
    assert e.hits(e.probes[0]) == sum(S.ent) and e.hits(e.probes[1]) == sum(S.rcnt)
    if hot:
        assert e.native_hits[0] == sum(S.ent)  # no Python per syscall-stop


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_threads_exact_counts_with_a_breakpoint_alongside(S, H, watchdog, exe, hot):
    out = []
    e, reason = run_target(watchdog, [exe, "threads", "8", "500"], [
        lambda e: e.add_syscall_probe(S["sys_entry"], "syscall", 0),
        lambda e: e.add_syscall_probe(S["sys_exit"], "syscall.return", 1),
        lambda e: e.add_probe(exe, "worker", H["count"], "entry", 2),
        lambda e: e.add_probe(exe, "worker", H["ret"], "return", 3)], hot, out)
    assert reason == "exited" and e.target_status == 0
    assert out[0] == "getppid calls 4000\n"
    assert S.ent[110] == 4000 and S.rcnt[110] == 4000
    assert H.counts[2] == 8 and H.counts[3] == 8


def test_filters_by_executable_and_pid(S, watchdog, exe):
    out, requests = [], []
    e, reason = run_target(watchdog, [exe, "calls", "3"], [
        lambda e: e.add_syscall_probe(S["sys_entry"], "syscall", 0, exe="/bin/true"),
        lambda e: e.add_syscall_probe(S["sys_exit"], "syscall.return", 1, pid=1),
        lambda e: e.add_syscall_probe(S["sys_exit"], "syscall.return", 2, exe=exe)], True, out,
        before_run=lambda e: requests.extend(p.resume_request for p in e.procs.values()))
    assert reason == "exited" and e.target_status == 0
    assert requests == [24]  # PTRACE_SYSCALL: one probe applies
    assert sum(S.ent) == 0 and S.rcnt[39] == 3
    assert e.hits(e.probes[0]) == 0 and e.hits(e.probes[1]) == 0 and e.hits(e.probes[2]) == sum(S.rcnt)


def test_no_syscall_probe_no_syscall_stops(H, watchdog, exe):
    out, requests = [], []
    e, reason = run_target(watchdog, [exe, "threads", "2", "10"], [
        lambda e: e.add_probe(exe, "worker", H["count"], "entry", 0)], True, out,
        before_run=lambda e: requests.extend(p.resume_request for p in e.procs.values()))
    assert reason == "exited" and requests == [7] and H.counts[0] == 2  # PTRACE_CONT


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_signals_are_delivered_and_counted(S, watchdog, exe, hot):
    """kill(self, SIGUSR1) N times: each signal reaches the handler (one getppid each) unchanged."""
    out = []
    e, reason = run_target(watchdog, [exe, "signals", "40"], [
        lambda e: e.add_syscall_probe(S["sys_entry"], "syscall", 0),
        lambda e: e.add_syscall_probe(S["sys_exit"], "syscall.return", 1)], hot, out)
    assert reason == "exited" and e.target_status == 0 and out[0] == "handled 40\n"
    assert S.ent[62] == 40 and S.rcnt[62] == 40 and S.rlast[62] == 0      # kill
    assert S.ent[110] == 40 and S.rcnt[110] == 40                         # in the handler
    assert S.ent[15] == 40 and S.rcnt[15] == 40                           # rt_sigreturn


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_fork_child_carries_the_syscall_probes(S, watchdog, exe, hot):
    out = []
    e, reason = run_target(watchdog, [exe, "fork", "300"], [
        lambda e: e.add_syscall_probe(S["sys_entry"], "syscall", 0, exe=exe),
        lambda e: e.add_syscall_probe(S["sys_exit"], "syscall.return", 1, exe=exe)], hot, out)
    assert reason == "exited" and e.target_status == 0
    assert out[0] == "getppid calls 600 status 0\n"
    assert S.ent[110] == 600 and S.rcnt[110] == 600


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_exec_rearms_for_the_new_image(S, watchdog, exe, hot):
    out = []
    e, reason = run_target(watchdog, [exe, "exec"], [
        lambda e: e.add_syscall_probe(S["sys_entry"], "syscall", 0, exe=exe),
        lambda e: e.add_syscall_probe(S["sys_exit"], "syscall.return", 1, exe=exe)], hot, out)
    assert reason == "exited" and e.target_status == 0
    assert "wrote=3 " in out[0]
    assert S.ent[110] == 1 and S.rcnt[110] == 1   # before the exec
    assert S.ent[59] == 1                         # execve itself
    assert S.ent[1] == 4 and S.rcnt[1] == 4       # after it: 3 writes and the printf


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_group_stop_and_continue_lose_no_syscall(S, watchdog, exe, hot, tmp_path):
    """SIGSTOP/SIGCONT in the middle (PTRACE_LISTEN keeps the thread's PTRACE_SYSCALL mode)."""
    import os
    import threading
    import time

    stop = tmp_path / "stop"
    pids = []

    class Hooks:
        def process_begin(self, pid):
            pids.append(pid)

    def poke():
        time.sleep(0.15)
        os.kill(pids[0], 19)  # SIGSTOP
        time.sleep(0.15)
        os.kill(pids[0], 18)  # SIGCONT
        time.sleep(0.15)
        stop.write_text("")

    out = []

    def probes(e):
        e.hooks = Hooks()
        e.add_syscall_probe(S["sys_entry"], "syscall", 0)
        e.add_syscall_probe(S["sys_exit"], "syscall.return", 1)

    t = threading.Thread(target=poke)
    e, reason = run_target(watchdog, [exe, "wait", str(stop)], [probes], hot, out, before_run=lambda e: t.start())
    t.join()
    assert reason == "exited" and e.target_status == 0
    n = int(re.match(r"done (\d+) ok\n$", out[0]).group(1))
    assert S.ent[110] == n and S.rcnt[110] == n


def test_attach_detach_in_syscall_heavy_process_leaves_it_as_found(S, watchdog, exe, tmp_path):
    """-x five times in a row on a process that lives in syscalls: each detach finds threads at
    syscall-stops and must leave none there (no tracer, not stopped, its getppid still right)."""
    import os
    import subprocess
    import time

    stop = tmp_path / "stop"
    proc = subprocess.Popen([exe, "wait", str(stop)], stdout=subprocess.PIPE, text=True)
    watchdog.pids.append(proc.pid)
    try:
        time.sleep(0.1)
        maps = open(f"/proc/{proc.pid}/maps").read()
        for _ in range(5):
            e = watchdog.watch(Engine())
            e.add_syscall_probe(S["sys_entry"], "syscall", 0)
            e.add_syscall_probe(S["sys_exit"], "syscall.return", 1)
            e.attach(proc.pid)
            assert all(p.xol is None and not p.breakpoints for p in e.procs.values())  # nothing injected
            deadline = time.monotonic() + 0.15
            while time.monotonic() < deadline:
                assert e.poll(0.05) is None
            e.detach_all()
            assert not e.procs  # detached
            status = open(f"/proc/{proc.pid}/status").read()
            assert "TracerPid:\t0\n" in status
            assert "State:\tt" not in status and "State:\tT" not in status
            assert open(f"/proc/{proc.pid}/maps").read() == maps
            time.sleep(0.02)
        assert S.ent[110] > 0
        stop.write_text("")
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and out.endswith(" ok\n")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
