"""Breakpoints: one int3 per probed address per address space, shared by every probe there.

A `Breakpoint` remembers the original byte, how to resume past the displaced
instruction (`StepPlan`), its XOL slot, and the probes it carries
(`entry` handlers run on the hit; `returns` hijack the return address).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from stapy.runtime.arch import x86_64 as arch

HANDLER_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)


SYSCALL_KINDS = ("syscall", "syscall.return")  # armed as PTRACE_SYSCALL stops, not breakpoints


@dataclass(eq=False)
class Probe:
    """One probe as the driver registered it (`Engine.add_probe`)."""
    path: str | None            # executable or library path; None: the traced program's main executable
    location: int | str         # symbol name, 'sym+off', or link-time address (statement(ADDR))
    handler: int                # address of `i32 handler(ctx*)`
    kind: str                   # 'entry' | 'return' | 'syscall' | 'syscall.return' (SYSCALL_KINDS)
    index: int                  # probe_index handed to the handler in ctx
    absolute: bool = False      # location is a run-time address (process(PID).statement(A).absolute)
    pid: int | None = None      # syscall probes: only this process (process(PID)); path: only this executable
    hits: int = 0
    misses: int = 0             # hits that could not run (return pool exhausted, fault reading [rsp])
    cfunc: object = None

    def __post_init__(self):
        self.cfunc = HANDLER_TYPE(self.handler)


@dataclass(eq=False)
class Breakpoint:
    address: int
    orig: bytes                  # the original first byte
    plan: arch.StepPlan
    slot: int = 0                # XOL slot address (plan.op == OP_XOL)
    entry: list = field(default_factory=list)    # Probe, kind 'entry'
    returns: list = field(default_factory=list)  # Probe, kind 'return'
    internal: object = None      # engine-private hook (callable(engine, thread, regs)) instead of probes

    def copy(self) -> "Breakpoint":
        return Breakpoint(self.address, self.orig, self.plan, self.slot, self.entry, self.returns, self.internal)


def insert(proc, address: int, xol) -> Breakpoint | None:
    """Write int3 at `address` in `proc` (or return the breakpoint already there).

    None when the instruction cannot be displaced (undecodable, or an int3 of the program's own)."""
    bp = proc.breakpoints.get(address)
    if bp is not None:
        return bp
    code = proc.read(address, arch.MAX_INSN + 1) or proc._read_mem(address, arch.MAX_INSN + 1)
    if code is None:
        code = proc.read(address, 1)
        if code is None:
            return None
        code = code + b"\x90" * arch.MAX_INSN  # end of a mapping: decode what is there
    plan = arch.plan_step(code, address)
    if plan is None:
        return None
    slot = 0
    if plan.op == arch.OP_XOL:
        if xol is None:
            return None
        slot = xol.alloc(plan.xol_code)
    if not proc.write(address, bytes([arch.INT3])):
        return None
    bp = Breakpoint(address, code[:1], plan, slot)
    proc.breakpoints[address] = bp
    return bp


def remove(proc, bp: Breakpoint) -> bool:
    """Put the original byte back (only if our int3 is still there)."""
    proc.breakpoints.pop(bp.address, None)
    cur = proc._read_mem(bp.address, 1) if proc.memfd >= 0 else proc.read(bp.address, 1)
    if cur != bytes([arch.INT3]):
        return False
    return proc.write(bp.address, bp.orig)


def remove_all(proc) -> None:
    for bp in list(proc.breakpoints.values()):
        remove(proc, bp)
