"""Process facts for the task tapsets (proc_mem.stp, task_time.stp, task.stp, usymbols.stp), read from /proc.

stap reads these from the kernel's task_struct and mm_struct; a ptrace tracer reads the same
counters from /proc.  The Runner answers the services named here ("proc:NAME" service names, from
the natives of stapy/codegen/builtins_proc.py and the tapsets' `_stapy_proc_long/_string(service,
n, s)`).  The "current task" is the traced thread that hit the probe (ctx->pid/ctx->tid), or stapy
itself in begin, end and timer probes.  A task that does not exist (or has gone) reads as stap's "no task": 0 or "".

Units: stap's memory functions count pages; its "cputime" is the kernel's task->utime, which is
nanoseconds on every kernel stap 4.8 supports, so task_utime()/task_stime() are ns here (from
/proc's clock ticks, so at USER_HZ resolution).
"""
from __future__ import annotations

import os
import threading

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def current_pid(ctx) -> int:
    return ctx.pid or os.getpid()


def current_tid(ctx) -> int:
    return ctx.tid or ctx.pid or threading.get_native_id()


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _stat_fields(path: str) -> list[str]:
    """/proc/.../stat after the `(comm)`: fields 3 (state) onwards, so field k is at index k-3."""
    text = _read(path).decode("ascii", "replace")
    if ")" not in text:
        return []
    return text.rsplit(")", 1)[1].split()


def _thread_stat(tid: int) -> list[str]:
    # /proc/TID/stat sums the whole thread group; /proc/TID/task/TID/stat is the thread alone
    return _stat_fields(f"/proc/{tid}/task/{tid}/stat") if tid > 0 else []


def _status_kb(pid: int, key: str) -> int:
    for line in _read(f"/proc/{pid}/status").decode("ascii", "replace").splitlines():
        if line.startswith(key + ":"):
            parts = line.split()
            return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return 0


def _status_ids(pid: int, key: str) -> list[int]:
    for line in _read(f"/proc/{pid}/status").decode("ascii", "replace").splitlines():
        if line.startswith(key + ":"):
            return [int(x) for x in line.split()[1:] if x.lstrip("-").isdigit()]
    return []


def mem_pages(pid: int, what: str) -> int:
    """proc_mem.stp's counters in pages: statm's size/resident/text/data (the kernel's task_statm
    computes them as stap's tapset does), and shr = MM_FILEPAGES alone (status RssFile)."""
    if pid <= 0:
        return 0
    statm = _read(f"/proc/{pid}/statm").split()
    if len(statm) < 6:
        return 0  # no such task, or a kernel thread / zombie without an mm: stap's 0
    if what == "shr":
        return _status_kb(pid, "RssFile") * 1024 // _PAGE
    index = {"size": 0, "rss": 1, "txt": 3, "data": 5}[what]
    return int(statm[index])


def task_ticks_ns(tid: int, field: int) -> int:
    fields = _thread_stat(tid)
    if len(fields) <= field - 3:
        return 0
    return int(fields[field - 3]) * _TICK_NS


def parent_pid(pid: int) -> int:
    fields = _stat_fields(f"/proc/{pid}/stat") if pid > 0 else []
    return int(fields[1]) if len(fields) > 1 else -1


def comm(pid: int) -> str:
    if pid <= 0:
        return ""
    return _read(f"/proc/{pid}/comm").rstrip(b"\n").decode("utf-8", "surrogateescape")


def nsecs_to_string(ns: int) -> str:
    """task_time.stp's "XmY.ZZZZZZZZZs" (C division: truncation toward zero)."""
    def div(a, b):
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q

    secs = div(ns, 1_000_000_000)
    rest = ns - secs * 1_000_000_000
    mins = div(secs, 60)
    return "%dm%d.%.9ds" % (mins, secs - mins * 60, rest)


def task_ancestry(pid: int, with_time: bool) -> str:
    """task_ancestry.stp: "grandparent=>parent=>process", each with "(start)" when asked; the
    chain ends at the idle task (swapper/0, started at 0), whose parent is itself, as in stap."""
    names = []
    seen = set()
    while pid > 0 and pid not in seen:
        seen.add(pid)
        name = comm(pid)
        if not name and not names:
            return ""
        stamp = f"({nsecs_to_string(task_ticks_ns(pid, 22))})" if with_time else ""
        names.append(name + stamp)
        pid = parent_pid(pid)
    names.append("swapper/0" + (f"({nsecs_to_string(0)})" if with_time else ""))
    return "=>".join(reversed(names))


def module_of(pid: int, addr: int):
    """(path, start of the module's first mapping) of the file mapping that holds addr, or None."""
    rows = []
    for line in _read(f"/proc/{pid}/maps").decode("utf-8", "surrogateescape").splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        rows.append((lo, hi, parts[5]))
    for lo, hi, path in rows:
        if lo <= addr < hi:
            return path, min(r[0] for r in rows if r[2] == path)
    return None


def build_id(path: str) -> str:
    """The hex of the file's NT_GNU_BUILD_ID note ("" if it has none)."""
    try:
        from elftools.elf.elffile import ELFFile

        with open(path, "rb") as f:
            for seg in ELFFile(f).iter_segments():
                if seg.header.p_type != "PT_NOTE":
                    continue
                for note in seg.iter_notes():
                    if note["n_type"] == "NT_GNU_BUILD_ID":
                        return note["n_desc"]
    except Exception:
        return ""
    return ""


_CRED_FIELDS = {"uid": ("Uid", 0), "euid": ("Uid", 1), "gid": ("Gid", 0), "egid": ("Gid", 1)}


def context_long(ctx, name: str, n: int, sv: str):
    """A long service, or None when `name` is not one of ours.  n == -1 means the current task."""
    if name == "mem":
        return mem_pages(current_pid(ctx) if n == -1 else n, sv)
    if name in ("utime", "stime", "start_time"):
        field = {"utime": 14, "stime": 15, "start_time": 22}[name]
        return task_ticks_ns(current_tid(ctx) if n == -1 else n, field)
    if name == "ppid":
        return parent_pid(current_pid(ctx) if n == -1 else n)
    if name in _CRED_FIELDS:  # uid()...: the task's real/effective ids (status Uid:/Gid: real eff saved fs)
        key, index = _CRED_FIELDS[name]
        ids = _status_ids(current_tid(ctx), key)
        return ids[index] if len(ids) > index else -1
    if name == "is_myproc":
        euid = _status_ids(current_pid(ctx), "Uid")
        return int(len(euid) > 1 and euid[1] == os.getuid())
    if name == "argc":
        return len(_read(f"/proc/{current_pid(ctx)}/cmdline").split(b"\0")[:-1])
    return None


def context_string(ctx, name: str, n: int, sv: str):
    if name == "pid2execname":
        return comm(n)
    if name == "task_ancestry":
        return task_ancestry(n, sv == "1")
    if name == "arg":
        args = _read(f"/proc/{current_pid(ctx)}/cmdline").split(b"\0")[:-1]
        return args[n].decode("utf-8", "surrogateescape") if 0 <= n < len(args) else ""
    return None


def context_string_checked(ctx, name: str, n: int, sv: str, fault):
    """Services that fail with stap's message: `fault(msg)` is the exception to raise."""
    addr = n & 0xFFFFFFFFFFFFFFFF
    if name in ("umodaddr", "umodbuildid"):
        mod = module_of(ctx.pid, addr) if ctx.pid else None
        if mod is None:
            raise fault(f"{name} 0x{addr:x} unknown\n ")
        if name == "umodaddr":
            return str(addr - mod[1])
        return build_id(mod[0])
    return None
