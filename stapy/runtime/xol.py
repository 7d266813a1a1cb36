"""The XOL area: an executable page range mapped into the tracee by an injected mmap.

Layout: offset 0 `syscall; int3` (for later injected syscalls), offset 8 the
return-probe trampoline (`int3`), then 32-byte slots, one per displaced
instruction.  Slots are written once and only read afterwards, so any number of
threads can step through the same slot at once (nobody ever sees a probed
instruction missing).  The mapping is private: a fork child inherits a copy at
the same address; exec discards it.
"""
from __future__ import annotations

from dataclasses import dataclass

from stapy.runtime import ptrace as pt
from stapy.runtime import stops
from stapy.runtime.arch import x86_64 as arch

XOL_SIZE = 64 * 1024
SLOT = 32
FIRST_SLOT = 64
SYS_MMAP = 9
SYS_MUNMAP = 11
PROT_READ, PROT_EXEC = 1, 4
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20


@dataclass
class XolArea:
    base: int
    size: int = XOL_SIZE
    next_slot: int = FIRST_SLOT
    proc: object = None

    @property
    def syscall_insn(self) -> int:
        return self.base

    @property
    def trampoline(self) -> int:
        return self.base + 8

    def alloc(self, code: bytes) -> int:
        if self.next_slot + SLOT > self.size:
            raise RuntimeError("XOL area full")
        addr = self.base + self.next_slot
        self.next_slot += SLOT
        self.proc.write(addr, code + bytes([arch.INT3]) * (SLOT - len(code)))
        return addr

    def clone_for(self, proc) -> "XolArea":
        return XolArea(self.base, self.size, self.next_slot, proc)


class InjectError(Exception):
    pass


def inject_syscall(proc, thread, nr: int, args: tuple[int, ...], syscall_at: int | None = None) -> int:
    """Run one syscall in the stopped `thread`, then put every register back.

    orig_rax = -1 keeps the kernel's syscall-restart logic away from our
    registers; the thread's own interrupted syscall restarts normally once its
    saved registers are restored.  Signals that arrive meanwhile are held in
    thread.pending_signal for the caller to deliver."""
    tid = thread.tid
    saved = arch.Regs()
    pt.getregs(tid, saved)
    regs = arch.Regs.from_buffer_copy(saved)
    patched = None
    if syscall_at is None:
        syscall_at = _executable_address(proc.tgid)
        patched = proc._read_mem(syscall_at, 2)
        if patched is None or not proc.write(syscall_at, b"\x0f\x05"):
            raise InjectError("cannot place a syscall instruction")
    names = ("rdi", "rsi", "rdx", "r10", "r8", "r9")
    from stapy.codegen.abi import REG_INDEX
    regs[arch.RAX] = nr
    regs[arch.ORIG_RAX] = 2**64 - 1
    for n, v in zip(names, args):
        regs[REG_INDEX[n]] = v & (2**64 - 1)
    regs[arch.RIP] = syscall_at
    regs[arch.EFLAGS] &= ~arch.TF
    setup = arch.Regs.from_buffer_copy(regs)
    try:
        pt.setregs(tid, regs)
        pt.singlestep(tid)
        while True:
            _, status = _wait_tid(tid)
            kind, sig, _ = stops.classify(status)
            if kind == stops.SIGTRAP_STOP:
                pt.getregs(tid, regs)
                if regs[arch.RIP] == syscall_at + 2:
                    break
                # a step report for the syscall we were stopped in (e.g. at the exec stop, whose
                # return value just overwrote our rax): nothing of ours ran yet, set up again
                regs = arch.Regs.from_buffer_copy(setup)
                pt.setregs(tid, regs)
            if kind in (stops.EXITED, stops.KILLED):
                raise InjectError("tracee died during an injected syscall")
            if kind == stops.SIGNAL_STOP:
                thread.pending_signal = sig
            pt.singlestep(tid)
        result = regs[arch.RAX]
    finally:
        if patched is not None:
            proc.write(syscall_at, patched)
        try:
            pt.setregs(tid, saved)
        except OSError:
            pass
    if result >= 2**64 - 4096:
        raise InjectError(f"injected syscall {nr} failed: {result - 2**64}")
    return result


def _wait_tid(tid: int):
    while True:
        try:
            return pt.waitpid(tid, pt.WALL)
        except InterruptedError:
            continue


def _executable_address(pid: int) -> int:
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if "x" in parts[1] and not line.rstrip().endswith(("[vsyscall]", "[vdso]")):
                return int(parts[0].split("-")[0], 16)
    raise InjectError("no executable mapping")


def map_xol(proc, thread) -> XolArea:
    """mmap the XOL area into `proc` through `thread` (stopped) and lay out its fixed part."""
    base = inject_syscall(proc, thread, SYS_MMAP, (0, XOL_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                                                    2**64 - 1, 0))
    xol = XolArea(base, XOL_SIZE, FIRST_SLOT, proc)
    proc.write(base, b"\x0f\x05\xcc" + b"\xcc" * 5 + b"\xcc" * 8)
    return xol
