"""In-place stepping (the fallback) under threads: while the original bytes are back for the step,
no other thread may run through them untrapped.  The fallback is forced on a hot function that 8
threads call, and every call must be counted."""
from __future__ import annotations

import dataclasses

import pytest

from conftest import build_target
from enginefix import H, watchdog  # noqa: F401  (fixtures)
from stapy.runtime.arch import x86_64 as arch
from stapy.runtime.engine import Engine


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_forced_inplace_step_counts_every_thread_call(H, watchdog, hot):
    exe = str(build_target("engine_calls.c", flags=("-O2", "-g")))
    e = watchdog.watch(Engine(hotloop=hot))
    pf = e.add_probe(exe, "f", H["count"], "entry", 0)
    e.add_probe(exe, "g", H["count"], "entry", 1)
    e.launch([exe, "300", "8"])
    proc = e.procs[e.target_pid]
    addr = next(a for a, bp in proc.breakpoints.items() if pf in bp.entry)
    bp = proc.breakpoints[addr]
    bp.plan = dataclasses.replace(bp.plan, op=arch.OP_INPLACE)  # as a VEX/no-scratch instruction would
    e.dirty = True
    assert e.run() == "exited" and e.target_status is not None
    assert H.counts[0] == 8 * 300 and H.counts[1] == 8 * 300


@pytest.mark.parametrize("hexcode", [
    "c5fa7e0500100000",          # vmovq xmm0, [rip+0x1000]          (VEX2)
    "c4617a7e3d00100000",        # vmovq xmm15, [rip+0x1000]         (VEX3, R-bar clear)
    "c5f9d60d00100000",          # vmovq [rip+0x1000], xmm1          (a store)
    "c4e27d580d00100000",        # vpbroadcastd ymm1, [rip+0x1000]   (VEX3, 0F38 map)
    "62e1fe486f0500100000",      # vmovdqu64 zmm16, [rip+0x1000]     (EVEX)
])
def test_vex_rip_relative_goes_out_of_line(hexcode):
    """VEX/EVEX RIP-relative instructions are rewritten to [scratch+disp32] like legacy ones (B-bar
    set in the prefix), so they no longer need the in-place fallback; capstone reads the rewrite back."""
    import capstone

    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    code = bytes.fromhex(hexcode)
    orig = next(md.disasm(code, 0x1000))
    plan = arch.plan_step(code + b"\x90" * 8, 0x1000)
    assert plan.op == arch.OP_XOL and plan.reg >= 0
    new = next(md.disasm(plan.xol_code, 0x1000))
    scratch = next(n for n, i in arch.REG_INDEX.items() if i == plan.reg)
    assert new.size == orig.size and new.mnemonic == orig.mnemonic
    assert new.op_str == orig.op_str.replace("rip + 0x1000", f"{scratch} + 0x1000")
