"""Per-process and per-thread state of the traced programs.

A `Process` is one address space (tgid): its memory handle, its breakpoints,
its XOL area and return-instance pool.  A `Thread` is one tid: its shadow
return stack and whether it is between stops we started (a step).
Memory: reads go through process_vm_readv (a fault is a value, never a crash);
writes go through /proc/PID/mem, which can write read-only text like a debugger.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field

from stapy.runtime import ptrace as pt
from stapy.runtime.uretprobe import ShadowStack


@dataclass
class Thread:
    tid: int
    process: "Process"
    shadow: ShadowStack = field(default_factory=ShadowStack)  # return instances, innermost last
    exiting: bool = False
    pending_signal: int = 0                      # a signal held back while a step was in flight
    # the syscall number of its last syscall-entry-stop + 1 (0: none since its last exit-stop): what
    # $syscall is in a .syscall.return, as stap caches it from the entry per tid (tapset-utrace.cxx)
    sysnr: ctypes.c_int64 = field(default_factory=ctypes.c_int64)


@dataclass
class Process:
    tgid: int
    exe: str = ""
    threads: dict = field(default_factory=dict)  # tid -> Thread
    breakpoints: dict = field(default_factory=dict)  # address -> Breakpoint (armed in this address space)
    xol: object = None                           # XolArea once mapped
    active: ctypes.c_int64 = field(default_factory=ctypes.c_int64)  # reserved return instances (pool)
    memfd: int = -1
    is_target: bool = False                      # the -c command or the -x process itself
    exit_status: int | None = None               # raw wait status once gone
    table: object = None                         # native breakpoint table (hot loop), if any
    armed: set = field(default_factory=set)      # ids of probes armed (or found unresolvable) here
    hooked_libs: set = field(default_factory=set)  # libraries whose C++ unwinder hooks are armed
    entry_hooked: bool = False                   # the program entry point re-arms library probes
    rdebug_hooked: bool = False                  # ld.so's r_brk breakpoint (dlopen/dlclose) is armed
    ended: bool = False                          # process_end was reported (at its last thread's exit)
    arm_pending: bool = False                    # attached in a group-stop: arm at its first other stop
    semaphores: dict = field(default_factory=dict)  # (path, link addr) -> run-time addr of an SDT semaphore we raised
    sys_entry: list = field(default_factory=list)  # process.syscall probes that apply here (Probe)
    sys_exit: list = field(default_factory=list)   # process.syscall.return probes that apply here

    @property
    def resume_request(self) -> int:
        """How its threads are resumed: PTRACE_SYSCALL while a syscall probe applies, else PTRACE_CONT."""
        return pt.SYSCALL if self.sys_entry or self.sys_exit else pt.CONT

    @property
    def returns_active(self) -> int:
        return self.active.value

    @returns_active.setter
    def returns_active(self, n: int) -> None:
        self.active.value = n

    # -- memory ---------------------------------------------------------
    def open_mem(self) -> None:
        self.close_mem()
        self.memfd = os.open(f"/proc/{self.tgid}/mem", os.O_RDWR | os.O_CLOEXEC)

    def close_mem(self) -> None:
        if self.memfd >= 0:
            try:
                os.close(self.memfd)
            except OSError:
                pass
            self.memfd = -1

    def read(self, addr: int, length: int) -> bytes | None:
        """Exactly `length` bytes at addr, or None on any fault (short read included)."""
        if length <= 0:
            return b""
        buf = ctypes.create_string_buffer(length)
        if pt.vm_read(self.tgid, addr, buf, length) != length:
            return self._read_mem(addr, length)
        return buf.raw

    def _read_mem(self, addr: int, length: int) -> bytes | None:
        # /proc/PID/mem also sees pages process_vm_readv refuses (e.g. our own r-x XOL page)
        if self.memfd < 0 or addr >= 1 << 47:
            return None
        try:
            data = os.pread(self.memfd, length, addr)
        except OSError:
            return None
        return data if len(data) == length else None

    def write(self, addr: int, data: bytes) -> bool:
        if self.memfd < 0:
            self.open_mem()
        try:
            return os.pwrite(self.memfd, data, addr) == len(data)
        except OSError:
            return False

    def read_u64(self, addr: int) -> int | None:
        b = self.read(addr, 8)
        return None if b is None else int.from_bytes(b, "little")

    def write_u64(self, addr: int, value: int) -> bool:
        return self.write(addr, (value & (2**64 - 1)).to_bytes(8, "little"))

    def live_threads(self) -> list[Thread]:
        return [t for t in self.threads.values() if not t.exiting]


def list_tasks(pid: int) -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return []


def tgid_of(tid: int) -> int | None:
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def exe_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""
