"""Return probes by return-address hijacking (the seed's four steps, in user space).

hijack(): 1. reserve an instance from the process's bounded pool; 2. read the
return address at [rsp]; 3. write the trampoline address there; 4. push the
instance on the thread's shadow stack.  A fault in 2 or 3 releases the
instance and counts a miss, leaving the tracee untouched.
hijack() first drops instances below the entry's rsp (frames a longjmp skipped).
pop_for_return(): pop instances whose slot lies below the returning frame
(frames longjmp or an exception skipped), then the matching one.
restore_all(): on detach every still-hijacked slot gets its return address back.

Shadow stacks and the pool counter live in native memory (`ShadowStack`,
`Process.active`) because the hot loop pushes and pops them too; the functions
here are the Python side of the same protocol.
"""
from __future__ import annotations

import ctypes

from stapy.codegen.abi import N_USER_REGS
from stapy.runtime.arch import x86_64 as arch

# Return instances per thread, as the kernel's uretprobes (MAX_URETPROBE_DEPTH in <linux/uprobes.h>),
# which stap and bpftrace run on: deeper entries still run their entry handlers, but their returns are
# not hijacked and so never reported (the kernel only logs "uprobe: omit uretprobe due to nestedness
# limit"; stap counts nothing, prints no warning).  The outermost 64 frames keep theirs.
SHADOW_DEPTH = 64


class Inst(ctypes.Structure):
    """One return instance: saved return address, its stack slot, the probed entry, entry registers."""
    _fields_ = [("ret", ctypes.c_uint64), ("slot", ctypes.c_uint64), ("bp", ctypes.c_uint64),
                ("hijacked", ctypes.c_int64), ("regs", ctypes.c_uint64 * N_USER_REGS)]

    @property
    def return_address(self) -> int:
        return self.ret

    @property
    def entry_regs(self):
        return self.regs


class ShadowStack:
    """A thread's shadow return stack: a native array plus a depth the hot loop updates in place.

    Entries are views into the array: a popped entry stays valid until the next push."""

    def __init__(self, cap: int = SHADOW_DEPTH):
        self.cap = cap
        self.arr = (Inst * cap)()
        self.depth = ctypes.c_int64(0)

    def __len__(self) -> int:
        return self.depth.value

    def __bool__(self) -> bool:
        return self.depth.value > 0

    def __getitem__(self, i: int) -> Inst:
        n = self.depth.value
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self.arr[i]

    def __iter__(self):
        return (self.arr[i] for i in range(self.depth.value))

    def push(self, ret: int, slot: int, bp: int, regs) -> Inst | None:
        n = self.depth.value
        if n >= self.cap:
            return None
        inst = self.arr[n]
        inst.ret, inst.slot, inst.bp, inst.hijacked = ret, slot, bp, 1
        ctypes.memmove(inst.regs, regs, ctypes.sizeof(inst.regs))
        self.depth.value = n + 1
        return inst

    def pop(self) -> Inst:
        n = self.depth.value - 1
        if n < 0:
            raise IndexError("pop from an empty shadow stack")
        self.depth.value = n
        return self.arr[n]

    def keep(self, pred) -> int:
        """Keep (in order) only the entries pred accepts; returns how many were dropped."""
        n = self.depth.value
        j = 0
        for i in range(n):
            if pred(self.arr[i]):
                if i != j:
                    ctypes.memmove(ctypes.byref(self.arr[j]), ctypes.byref(self.arr[i]), ctypes.sizeof(Inst))
                j += 1
        self.depth.value = j
        return n - j

    def clear(self) -> None:
        self.depth.value = 0

    def copy(self) -> "ShadowStack":
        s = ShadowStack(self.cap)
        ctypes.memmove(s.arr, self.arr, ctypes.sizeof(Inst) * self.depth.value)
        s.depth.value = self.depth.value
        return s


def _miss(bp) -> None:
    for p in bp.returns:
        p.misses += 1


def drop_stale(proc, thread, rsp: int, ret: int | None = None) -> int:
    """Pop instances of frames a longjmp skipped, at a function entry whose [rsp] holds `ret`.

    As the kernel's cleanup_return_instances: no live frame's return slot is below the rsp of a
    function being entered, nor at it unless [rsp] is our trampoline (a tail call through a hijacked
    slot, which chains); a slot holding anything else was reused by a new call.  Without this, stale
    instances under a live one fill the stack."""
    shadow = thread.shadow
    chained = ret is None or (proc.xol is not None and ret == proc.xol.trampoline)
    n = 0
    while shadow and (shadow[-1].slot < rsp or shadow[-1].slot == rsp and not chained):
        shadow.pop()
        n += 1
    proc.returns_active = max(0, proc.returns_active - n)
    return n


def hijack(proc, thread, bp, regs, maxactive: int) -> Inst | None:
    rsp = regs[arch.RSP]
    ret = proc.read_u64(rsp)                                   # 2 (first: the cleanup needs it)
    if ret is None:
        _miss(bp)
        return None
    drop_stale(proc, thread, rsp, ret)
    if proc.returns_active >= maxactive or len(thread.shadow) >= thread.shadow.cap:   # 1
        _miss(bp)
        return None
    proc.returns_active += 1
    if not proc.write_u64(rsp, proc.xol.trampoline):          # 3
        proc.returns_active -= 1
        _miss(bp)
        return None
    return thread.shadow.push(ret, rsp, bp.address, regs)      # 4


def pop_for_return(proc, thread, rsp_after_ret: int) -> tuple[Inst | None, int]:
    """The instance whose slot the `ret` just used, and how many stale ones were skipped on the way."""
    slot = rsp_after_ret - 8
    shadow = thread.shadow
    stale = 0
    while shadow and shadow[-1].slot < slot:
        shadow.pop()
        stale += 1
    inst = shadow.pop() if shadow and shadow[-1].slot == slot else None
    proc.returns_active = max(0, proc.returns_active - stale - (inst is not None))
    return inst, stale


def find_any(proc, rsp_after_ret: int) -> Inst | None:
    """A trampoline hit with no instance on this thread's stack: look in its siblings' stacks."""
    slot = rsp_after_ret - 8
    for t in proc.threads.values():
        for inst in t.shadow:
            if inst.slot == slot:
                found = Inst.from_buffer_copy(inst)
                t.shadow.keep(lambda i: i.slot != slot)
                proc.returns_active = max(0, proc.returns_active - 1)
                return found
    return None


def restore_all(proc) -> None:
    """Write every hijacked return address back (innermost first, so reused slots end right)."""
    for t in proc.threads.values():
        for i in reversed(range(len(t.shadow))):
            inst = t.shadow[i]
            if inst.hijacked and proc.read_u64(inst.slot) == proc.xol.trampoline:
                proc.write_u64(inst.slot, inst.ret)
            inst.hijacked = 0
        t.shadow.clear()
    proc.returns_active = 0
