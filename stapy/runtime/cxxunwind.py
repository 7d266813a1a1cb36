"""Keeping hijacked return addresses out of the C++ unwinder's way.

The unwinder finds each frame's unwind info from its return address; a frame
whose return address is our trampoline has none, and the exception would end
in std::terminate.  So (as uftrace does) the engine stops at
`_Unwind_RaiseException`/`_Unwind_ForcedUnwind` entry and writes every
hijacked slot of the throwing thread back, and at `__cxa_begin_catch` entry
(called from the catching frame) re-hijacks the frames still alive (slot
above rsp) and drops the ones the exception unwound; their return probes do
not fire, as a function left by an exception never returns.
"""
from __future__ import annotations

import os

from stapy.runtime import breakpoints as bpmod
from stapy.runtime.arch import x86_64 as arch

RAISE = ("_Unwind_RaiseException", "_Unwind_ForcedUnwind")
CATCH = ("__cxa_begin_catch",)


def on_raise(engine, th, regs) -> None:
    proc = th.process
    for inst in th.shadow:
        if inst.hijacked and proc.read_u64(inst.slot) == proc.xol.trampoline:
            proc.write_u64(inst.slot, inst.ret)
        inst.hijacked = 0


def on_catch(engine, th, regs) -> None:
    proc = th.process
    rsp = regs[arch.RSP]
    for inst in th.shadow:
        if inst.slot > rsp and not inst.hijacked and proc.read_u64(inst.slot) == inst.ret:
            inst.hijacked = int(proc.write_u64(inst.slot, proc.xol.trampoline))
    dropped = th.shadow.keep(lambda i: i.slot > rsp)  # frames the exception unwound never return
    proc.returns_active = max(0, proc.returns_active - dropped)


def install(engine, proc) -> None:
    """Arm the hooks in every mapped library that has them (once per library per process)."""
    from stapy.debuginfo import elf

    if proc.xol is None or not any(p.kind == "return" for p in engine.probes):
        return
    for path, bias in elf.module_bases(proc.tgid).items():
        base = os.path.basename(path)
        if not (base.startswith("libgcc_s") or base.startswith("libstdc++")) or path in proc.hooked_libs:
            continue
        proc.hooked_libs.add(path)
        ef = elf.open_elf(path)
        for names, fn in ((RAISE, on_raise), (CATCH, on_catch)):
            for name in names:
                syms = [s for s in ef.lookup(name) if s.address]
                if syms:
                    bp = bpmod.insert(proc, syms[0].address + bias, proc.xol)
                    if bp is not None:
                        bp.internal = fn
