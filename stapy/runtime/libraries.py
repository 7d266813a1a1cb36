"""Shared libraries loaded and unloaded at run time (dlopen/dlclose), learned from ld.so.

The dynamic loader calls `r_debug.r_brk` (`_dl_debug_state`) around every
change of its link map and sets `r_state` (RT_CONSISTENT = 0 once done).  The
engine keeps an internal breakpoint there: at each consistent state it arms
the probes of newly mapped objects and forgets those of objects that are gone
(their text is unmapped, so there is nothing to restore).
"""
from __future__ import annotations

import os

from stapy.runtime import breakpoints as bpmod

R_BRK = 16
R_STATE = 24
RT_CONSISTENT = 0


def install(engine, proc) -> None:
    """Arm the r_brk breakpoint once ld.so is mapped and has published r_debug."""
    from stapy.debuginfo import elf

    if proc.xol is None or proc.rdebug_hooked:
        return
    for path, bias in elf.module_bases(proc.tgid).items():
        if not os.path.basename(path).startswith("ld-"):
            continue
        syms = elf.open_elf(path).lookup("_r_debug", kinds=("object",))
        if not syms:
            return
        r_debug = syms[0].address + bias
        brk = proc.read_u64(r_debug + R_BRK)
        if not brk:
            # At the exec stop ld.so has not run yet and r_brk is 0.  r_brk will be ld.so's own
            # _dl_debug_state: break there now, so its first RT_CONSISTENT call (after the
            # DT_NEEDED libraries are mapped, before _dl_init runs their constructors) arms them.
            state = elf.open_elf(path).lookup("_dl_debug_state")
            if not state:
                return  # try again at the entry point
            brk = state[0].address + bias
        bp = bpmod.insert(proc, brk, proc.xol)
        if bp is not None:
            bp.internal = lambda e, th, regs: on_change(e, th, r_debug)
            proc.rdebug_hooked = True
            engine.dirty = True
        return


def on_change(engine, th, r_debug: int) -> None:
    proc = th.process
    state = proc.read_u64(r_debug + R_STATE)
    if state != RT_CONSISTENT:
        return
    forget_unmapped(engine, proc)
    engine.arm(proc, th)


def forget_unmapped(engine, proc) -> None:
    from stapy.debuginfo import elf

    maps = elf.read_maps(proc.tgid)
    mapped = {os.path.realpath(m.path) for m in maps if m.path}
    text = [(m.start, m.end) for m in maps if "x" in m.perms]
    for p in engine.probes:
        if p.path and p.path not in mapped and id(p) in proc.armed:
            proc.armed.discard(id(p))
    for addr, bp in list(proc.breakpoints.items()):
        if not any(s <= addr < e for s, e in text):
            del proc.breakpoints[addr]
            engine.dirty = True
