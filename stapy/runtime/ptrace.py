"""ptrace(2), waitpid(2), process_vm_readv(2) and friends through ctypes on libc.

Syscalls only: no policy, no state.  Every call returns the raw result or
raises `OSError` with the errno, so callers decide whether ESRCH (the tracee
died) is an error.  Names and numbers follow ptrace(2) and <sys/ptrace.h>.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

# requests
TRACEME, PEEKTEXT, PEEKDATA, PEEKUSER, POKETEXT, POKEDATA = 0, 1, 2, 3, 4, 5
CONT, KILL, SINGLESTEP = 7, 8, 9
SYSCALL = 24
GETREGS, SETREGS = 12, 13
ATTACH, DETACH = 16, 17
SETOPTIONS, GETEVENTMSG, GETSIGINFO, SETSIGINFO = 0x4200, 0x4201, 0x4202, 0x4203
SEIZE, INTERRUPT, LISTEN = 0x4206, 0x4207, 0x4208
GET_SYSCALL_INFO = 0x420E

# PTRACE_GET_SYSCALL_INFO ops
SYSCALL_INFO_NONE, SYSCALL_INFO_ENTRY, SYSCALL_INFO_EXIT, SYSCALL_INFO_SECCOMP = 0, 1, 2, 3
SYSCALL_INFO_SIZE = 88  # struct ptrace_syscall_info (the largest member: seccomp)
ENOSYS_RAX = 2**64 - 38  # rax at every x86-64 syscall-entry-stop

# options
O_TRACESYSGOOD = 0x1
O_TRACEFORK = 0x2
O_TRACEVFORK = 0x4
O_TRACECLONE = 0x8
O_TRACEEXEC = 0x10
O_TRACEVFORKDONE = 0x20
O_TRACEEXIT = 0x40

# events (status >> 16)
EVENT_FORK, EVENT_VFORK, EVENT_CLONE, EVENT_EXEC = 1, 2, 3, 4
EVENT_VFORK_DONE, EVENT_EXIT, EVENT_STOP = 5, 6, 128

WALL = 0x40000000  # __WALL
WNOHANG = 1

libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
libc.waitpid.restype = ctypes.c_int
libc.waitpid.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
libc.syscall.restype = ctypes.c_long


class iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


libc.process_vm_readv.restype = ctypes.c_ssize_t
libc.process_vm_readv.argtypes = [ctypes.c_int, ctypes.POINTER(iovec), ctypes.c_ulong,
                                  ctypes.POINTER(iovec), ctypes.c_ulong, ctypes.c_ulong]


class siginfo_t(ctypes.Structure):
    # si_signo, si_errno, si_code, pad, then the union (si_addr for faults, si_pid/si_uid for kill)
    _fields_ = [("si_signo", ctypes.c_int), ("si_errno", ctypes.c_int), ("si_code", ctypes.c_int),
                ("_pad0", ctypes.c_int), ("si_addr", ctypes.c_uint64), ("_rest", ctypes.c_uint8 * 112)]


def _check(res: int) -> int:
    if res == -1:
        e = ctypes.get_errno()
        if e:
            raise OSError(e, os.strerror(e))
    return res


def ptrace(req: int, pid: int, addr: int = 0, data: int = 0) -> int:
    ctypes.set_errno(0)
    return _check(libc.ptrace(req, pid, addr, data))


def seize(pid: int, options: int) -> None:
    ptrace(SEIZE, pid, 0, options)


def interrupt(tid: int) -> None:
    ptrace(INTERRUPT, tid)


def cont(tid: int, sig: int = 0) -> None:
    ptrace(CONT, tid, 0, sig)


def syscall(tid: int, sig: int = 0) -> None:
    """Resume to the next syscall-entry/exit-stop (or any other stop)."""
    ptrace(SYSCALL, tid, 0, sig)


def syscall_op(tid: int) -> int:
    """PTRACE_GET_SYSCALL_INFO's op at a syscall-stop (SYSCALL_INFO_ENTRY/EXIT), NONE if unavailable."""
    buf = ctypes.create_string_buffer(SYSCALL_INFO_SIZE)
    try:
        ptrace(GET_SYSCALL_INFO, tid, SYSCALL_INFO_SIZE, ctypes.addressof(buf))
    except OSError:
        return SYSCALL_INFO_NONE
    return buf.raw[0]


def listen(tid: int) -> None:
    ptrace(LISTEN, tid)


def singlestep(tid: int, sig: int = 0) -> None:
    ptrace(SINGLESTEP, tid, 0, sig)


def detach(tid: int, sig: int = 0) -> None:
    ptrace(DETACH, tid, 0, sig)


def setoptions(tid: int, options: int) -> None:
    ptrace(SETOPTIONS, tid, 0, options)


def geteventmsg(tid: int) -> int:
    out = ctypes.c_ulong()
    ptrace(GETEVENTMSG, tid, 0, ctypes.addressof(out))
    return out.value


def getsiginfo(tid: int) -> siginfo_t | None:
    """The siginfo of a signal-delivery-stop, or None (EINVAL: a group-stop/event stop)."""
    si = siginfo_t()
    try:
        ptrace(GETSIGINFO, tid, 0, ctypes.addressof(si))
    except OSError:
        return None
    return si


def getregs(tid: int, regs) -> None:
    ptrace(GETREGS, tid, 0, ctypes.addressof(regs))


def setregs(tid: int, regs) -> None:
    ptrace(SETREGS, tid, 0, ctypes.addressof(regs))


def peekdata(tid: int, addr: int) -> int:
    return ptrace(PEEKDATA, tid, addr) & 0xFFFFFFFFFFFFFFFF


def pokedata(tid: int, addr: int, word: int) -> None:
    ptrace(POKEDATA, tid, addr, word)


_status = ctypes.c_int()


def waitpid(pid: int, options: int = WALL) -> tuple[int, int]:
    """(tid, status); raises InterruptedError on EINTR (a timer or SIGINT woke us), ChildProcessError."""
    r = libc.waitpid(pid, ctypes.byref(_status), options)
    if r == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e)) if e not in (4, 10) else (InterruptedError if e == 4 else ChildProcessError)(e, os.strerror(e))
    return r, _status.value


def tgkill(tgid: int, tid: int, sig: int) -> None:
    _check(libc.syscall(234, ctypes.c_long(tgid), ctypes.c_long(tid), ctypes.c_long(sig)))


def vm_read(pid: int, addr: int, buf, length: int) -> int:
    """process_vm_readv into a ctypes buffer; bytes read, or -errno.  Never faults stapy."""
    local = iovec(ctypes.addressof(buf), length)
    remote = iovec(addr, length)
    ctypes.set_errno(0)
    r = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if r < 0:
        return -ctypes.get_errno()
    return r
