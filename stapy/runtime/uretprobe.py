"""Return probes by return-address hijacking (the seed's four steps, in user space).

hijack(): 1. reserve an instance from the process's bounded pool; 2. read the
return address at [rsp]; 3. write the trampoline address there; 4. push the
instance on the thread's shadow stack.  A fault in 2 or 3 releases the
instance and counts a miss, leaving the tracee untouched.
on_trampoline(): pop instances whose slot lies below the returning frame
(frames longjmp or an exception skipped), then the matching one.
restore_all(): on detach every still-hijacked slot gets its return address back.
"""
from __future__ import annotations

from dataclasses import dataclass

from stapy.runtime.arch import x86_64 as arch


@dataclass(eq=False)
class ReturnInstance:
    return_address: int
    slot: int                   # stack address holding the hijacked return address
    entry_regs: object          # Regs copy at function entry (@entry, $param in .return)
    breakpoint: object
    hijacked: bool = True       # the slot currently holds the trampoline address


def hijack(proc, thread, bp, regs, maxactive: int) -> ReturnInstance | None:
    if proc.returns_active >= maxactive:                       # 1
        for p in bp.returns:
            p.misses += 1
        return None
    proc.returns_active += 1
    rsp = regs[arch.RSP]
    ret = proc.read_u64(rsp)                                   # 2
    if ret is None or not proc.write_u64(rsp, proc.xol.trampoline):  # 3
        proc.returns_active -= 1
        for p in bp.returns:
            p.misses += 1
        return None
    inst = ReturnInstance(ret, rsp, arch.Regs.from_buffer_copy(regs), bp)
    thread.shadow.append(inst)                                 # 4
    return inst


def pop_for_return(proc, thread, rsp_after_ret: int) -> tuple[ReturnInstance | None, list]:
    """The instance whose slot the `ret` just used, and the stale ones skipped on the way."""
    slot = rsp_after_ret - 8
    stale = []
    shadow = thread.shadow
    while shadow and shadow[-1].slot < slot:
        stale.append(shadow.pop())
    inst = shadow.pop() if shadow and shadow[-1].slot == slot else None
    released = len(stale) + (inst is not None)
    proc.returns_active = max(0, proc.returns_active - released)
    return inst, stale


def find_any(proc, rsp_after_ret: int) -> ReturnInstance | None:
    """A trampoline hit with no instance on this thread's stack: look in its siblings' stacks."""
    slot = rsp_after_ret - 8
    for t in proc.threads.values():
        for i, inst in enumerate(t.shadow):
            if inst.slot == slot:
                del t.shadow[i]
                proc.returns_active = max(0, proc.returns_active - 1)
                return inst
    return None


def restore_all(proc) -> None:
    """Write every hijacked return address back (innermost first, so reused slots end right)."""
    for t in proc.threads.values():
        for inst in reversed(t.shadow):
            if inst.hijacked and proc.read_u64(inst.slot) == proc.xol.trampoline:
                proc.write_u64(inst.slot, inst.return_address)
            inst.hijacked = False
        t.shadow.clear()
    proc.returns_active = 0
