"""The breakpoint engine against real processes: counts, arguments, return values, stepping kinds."""
from __future__ import annotations

import os

import pytest

from conftest import build_target
from enginefix import H, watchdog  # noqa: F401  (fixtures)
from stapy.runtime.arch import x86_64 as arch
from stapy.runtime.engine import Engine

OPT = [("-O0", "-g"), ("-O2", "-g")]


def engine(watchdog, **kw) -> Engine:
    return watchdog.watch(Engine(**kw))


@pytest.mark.parametrize("flags", OPT, ids=["O0", "O2"])
@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_entry_args_strings_returns(H, watchdog, flags, hot):
    exe = str(build_target("engine_calls.c", flags=flags))
    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "f", H["args"], "entry", 0)
    pg = e.add_probe(exe, "g", H["count"], "entry", 1)
    ph = e.add_probe(exe, "h", H["string"], "entry", 2)
    e.add_probe(exe, "f", H["ret"], "return", 3)
    e.launch([exe, "500"])
    assert e.unresolved == []
    assert e.run() == "exited"
    assert list(H.counts[:4]) == [500, 500, 500, 500]
    assert H.last_rdi[0] == 499
    assert H.string(2) == b"hello" and H.status[2] == 5
    assert H.rets[3] == sum(2 * i for i in range(500))   # f returns 2x
    assert H.entry_rdi[3] == 499
    assert e.hits(pg) == 500 and e.hits(ph) == 500
    if hot:  # entry and return probes never left the native loop
        assert list(e.native_hits[:4]) == [500, 500, 500, 500]
    # the program's own result: total & 0x3f, with total = sum(f+g+h)
    total = sum(2 * i + ([1, 2, 3, 4][i & 3] + i) + ord("h") for i in range(500))
    assert e.target_status >> 8 == total & 0x3F


@pytest.mark.parametrize("flags", OPT, ids=["O0", "O2"])
@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_eight_threads_exact_counts(H, watchdog, flags, hot):
    exe = str(build_target("engine_calls.c", flags=flags))
    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.add_probe(exe, "g", H["count"], "entry", 1)
    e.add_probe(exe, "f", H["ret"], "return", 2)
    began = []

    class Hooks:
        def thread_begin(self, pid, tid):
            began.append(tid)

    e.launch([exe, "300", "8"])
    assert e.run(Hooks()) == "exited"
    assert H.counts[0] == 8 * 300 and H.counts[1] == 8 * 300 and H.counts[2] == 8 * 300
    assert H.rets[2] == 8 * sum(2 * i for i in range(300))
    assert len(began) == 8


def test_every_resume_kind(H, watchdog):
    """call/jmp/jcc/indirect call/lea/mov rip-relative, push, sub, ret as probed instructions."""
    exe = str(build_target("engine_insns.c", flags=("-O0",)))
    e = engine(watchdog, hotloop=False)
    names = ["i_call", "i_jmp", "i_jcc", "i_jcc_j", "i_icall", "i_icall_c", "i_lea", "i_push", "i_sub",
             "i_ret", "i_mov", "i_vex", "helper"]
    for i, n in enumerate(names):
        e.add_probe(exe, n, H["count"], "entry", i)
    e.launch([exe])
    assert e.unresolved == []
    plans = {bp.address: bp.plan for bp in e.procs[e.target_pid].breakpoints.values()}
    assert len(plans) >= len(names)
    ops = sorted({p.op for p in plans.values()})
    assert ops == [arch.OP_XOL, arch.OP_PUSH, arch.OP_SUBRSP]  # VEX RIP-relative too: out of line
    assert e.run() == "exited"
    assert e.target_status == 0, e.target_status   # main checked every result
    counts = dict(zip(names, H.counts))
    assert counts["i_jcc"] == counts["i_jcc_j"] == 6
    assert counts["helper"] == 9
    assert all(counts[n] == 3 for n in names if n not in ("i_jcc", "i_jcc_j", "helper"))


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_recursion_returns(H, watchdog, hot):
    exe = str(build_target("engine_recurse.c", flags=("-O0", "-g")))
    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "fact", H["count"], "entry", 0)
    e.add_probe(exe, "fact", H["ret"], "return", 1)
    e.launch([exe, "fact"])
    assert e.run() == "exited" and e.target_status == 0
    assert H.counts[0] == 15 and H.counts[1] == 15
    # every return value of every level: sum over i=1..5 of sum_{k=1..i} k!
    import math
    assert H.rets[1] == sum(math.factorial(k) for i in range(1, 6) for k in range(1, i + 1))


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_longjmp_skips_hijacked_frames(H, watchdog, hot):
    exe = str(build_target("engine_recurse.c", flags=("-O0", "-g")))
    e = engine(watchdog, hotloop=hot)
    e.add_probe(exe, "deep", H["ret"], "return", 0)
    e.add_probe(exe, "jumper", H["ret"], "return", 1)
    e.add_probe(exe, "fact", H["ret"], "return", 2)
    e.launch([exe, "longjmp"])
    assert e.run() == "exited" and e.target_status == 0
    assert H.counts[0] == 0          # deep never returns: longjmp skips all its frames
    assert H.counts[1] == 4 and H.rets[1] == -4
    assert H.counts[2] == 3 and H.rets[2] == 6 + 2 + 1
    proc_pool = e.procs  # the process is gone; nothing left hijacked
    assert not proc_pool


def test_exit_status_and_signal_warning(H, watchdog):
    exe = str(build_target("engine_lifecycle.c", flags=("-O0",)))
    e = engine(watchdog)
    e.add_probe(exe, "f", H["count"], "entry", 0)
    e.launch([exe, "exit", "3"])
    e.run()
    assert e.child_exit_warning() == "Child process exited with status 3"
    e2 = engine(watchdog)
    e2.add_probe(exe, "f", H["count"], "entry", 0)
    e2.launch([exe, "kill", "15"])
    e2.run()
    assert e2.child_exit_warning() == "Child process exited with signal 15 (Terminated)"
    assert H.counts[0] == 2


def test_launch_missing_command(watchdog, capfd):
    e = engine(watchdog)
    e.launch(["/nonexistent/cmd"])
    assert e.run() == "exited"
    assert e.child_exit_warning() == "Child process exited with status 1"
    assert "/nonexistent/cmd: No such file or directory" in capfd.readouterr().err


@pytest.mark.parametrize("flags", OPT, ids=["O0", "O2"])
@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_cxx_exception_through_return_probes(H, watchdog, flags, hot):
    exe = str(build_target("engine_cxx.cc", flags=flags))
    e = engine(watchdog, hotloop=hot)
    for i, name in enumerate(("thrower", "middle", "catcher")):
        e.add_probe(exe, name, H["ret"], "return", i)
        e.add_probe(exe, name, H["count"], "entry", 10 + i)
    e.launch([exe])
    assert e.unresolved == []
    assert e.run() == "exited"
    assert e.target_status == 0     # no std::terminate: the unwinder never saw the trampoline
    assert [H.counts[10], H.counts[11], H.counts[12]] == [10, 10, 10]
    assert [H.counts[0], H.counts[1], H.counts[2]] == [5, 5, 10]   # unwound frames do not return
    assert H.rets[0] == 5 and H.rets[1] == 10 and H.rets[2] & 0xFFFFFFFF == 5 * 2 - 5  # int in eax


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_return_pool_exhaustion_counts_misses(H, watchdog, hot):
    exe = str(build_target("engine_recurse.c", flags=("-O0", "-g")))
    e = engine(watchdog, maxactive=2, hotloop=hot)
    p = e.add_probe(exe, "fact", H["ret"], "return", 0)
    e.launch([exe, "fact"])
    assert e.run() == "exited" and e.target_status == 0
    # fact(i) nests i deep; only 2 instances at a time: i=1 -> 1, i=2 -> 2, i>=3 -> 2 returns each
    assert H.counts[0] == 1 + 2 + 2 + 2 + 2
    assert e.misses(p) == 0 + 0 + 1 + 2 + 3
    assert H.counts[0] + e.misses(p) == 15


def test_hijack_fault_releases_instance(H, watchdog):
    """Step 2 of the hijack faults (an unreadable [rsp]): the instance is released, a miss counted,
    the tracee untouched."""
    from stapy.runtime import ptrace as pt
    from stapy.runtime import uretprobe

    exe = str(build_target("engine_recurse.c", flags=("-O0", "-g")))
    e = engine(watchdog)
    p = e.add_probe(exe, "fact", H["ret"], "return", 0)
    pid = e.launch([exe, "fact"])
    proc = e.procs[pid]
    th = proc.threads[pid]
    bp = next(b for b in proc.breakpoints.values() if b.returns)
    regs = arch.Regs()
    pt.getregs(pid, regs)
    for bad in (0, 0x8000000000000000, 0xFFFFFFFF81000000):
        regs[arch.RSP] = bad
        assert uretprobe.hijack(proc, th, bp, regs, e.maxactive) is None
    assert p.misses == 3 and proc.returns_active == 0 and len(th.shadow) == 0
    assert e.run() == "exited" and e.target_status == 0
    assert H.counts[0] == 15


def test_library_and_statement_probes(H, watchdog):
    """process("libc.so.6").function("puts") (armed once ld.so mapped libc) and statement(ADDR)."""
    from stapy.debuginfo import elf

    exe = str(build_target("engine_insns.c", flags=("-O0",)))
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    e = engine(watchdog)
    e.add_probe(libc, "puts", H["string"], "entry", 0)
    e.add_probe(libc, "printf", H["string"], "entry", 1)
    jcc = elf.open_elf(exe).lookup("i_jcc_j", kinds=("func", "notype"))[0].address
    e.add_probe(exe, jcc, H["count"], "entry", 2)
    e.launch([exe])
    assert e.run() == "exited" and e.target_status == 0
    assert e.unresolved == []
    assert H.counts[1] == 1 and H.string(1) == b"bad=%d\n"
    assert H.counts[2] == 6


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_dlopen_library_probes(H, watchdog, hot):
    """A probe in a library the program dlopens (and dlcloses, and dlopens again) fires each time."""
    exe = str(build_target("engine_dlopen.c", flags=("-O0",)))
    e = engine(watchdog, hotloop=hot)
    e.add_probe("/lib/x86_64-linux-gnu/libm.so.6", "frexp", H["count"], "entry", 0)
    e.launch([exe])
    assert e.run() == "exited" and e.target_status == 0
    assert H.counts[0] == 6
    assert e.unresolved == []


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_handler_status_reaches_the_driver(H, watchdog, hot):
    """STATUS_ERROR goes to hooks.handler_status with the probe; returning False keeps the session
    going (errors under MAXERRORS), and the remaining handlers at the same address still run."""
    exe = str(build_target("engine_calls.c", flags=("-O0",)))
    seen = []

    class Hooks:
        def handler_status(self, probe, status, ctx):
            seen.append((probe.index, status, ctx.tid))
            return len(seen) >= 7   # the 7th error ends the session

    e = engine(watchdog, hotloop=hot, hooks=Hooks())
    e.add_probe(exe, "f", H["error"], "entry", 0)
    e.add_probe(exe, "f", H["count"], "entry", 1)
    e.add_probe(exe, "f", H["ret"], "return", 2)
    pid = e.launch([exe, "50"])
    assert e.run() == "stopped"
    assert len(seen) == 7 and {s[:2] for s in seen} == {(0, 1)} and seen[0][2] == pid
    assert H.counts[0] == 7 and H.counts[1] == 6   # the 7th hit's later handler did not run
    e.detach_all()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status)
