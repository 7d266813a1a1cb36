"""cfi.py: CFA rules against readelf's decoded frame tables, and a live unwind of a blocked process."""
from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess

import pytest

from conftest import build_target
from stapy.debuginfo import cfi, elf
from stapy.debuginfo.locations import DWARF_REGS_X86_64
from stapy.debuginfo.symbolize import AddressSpace


def readelf_rows(path):
    """[(loc, {'cfa': 'rsp+8', 'rbp': 'c-16', ...})] from readelf --debug-dump=frames-interp."""
    out = subprocess.run(["readelf", "--debug-dump=frames-interp", str(path)], capture_output=True, text=True,
                         check=True).stdout
    rows, cols, in_fde = [], None, False
    for line in out.splitlines():
        if " FDE " in line:
            in_fde, cols = True, None
            continue
        if " CIE " in line:
            in_fde, cols = False, None
            continue
        if line.strip().startswith("LOC"):
            cols = line.split()
            continue
        m = re.match(r"^([0-9a-f]{16}) (.*)$", line)
        if m and in_fde and cols:
            vals = m.group(2).split()
            rows.append((int(m.group(1), 16), dict(zip([c.lower() for c in cols[1:]], vals))))
    return rows


@pytest.mark.parametrize("flags", [("-O0", "-g"), ("-O2", "-g", "-fomit-frame-pointer")])
def test_rules_match_readelf(flags):
    exe = build_target("dbg_unwind.c", flags=flags)
    cf = cfi.frames_for(elf.open_elf(str(exe)))
    rows = readelf_rows(exe)
    assert rows
    for loc, cols in rows:
        rule = cf.rule_at(loc)
        assert rule is not None, hex(loc)
        want_cfa = cols["cfa"]
        got_cfa = "exp" if rule.cfa_expr is not None else f"{DWARF_REGS_X86_64[rule.cfa_reg]}+{rule.cfa_offset}"
        assert got_cfa == want_cfa, hex(loc)
        for reg, text in cols.items():
            if reg == "cfa":
                continue
            regno = 16 if reg == "ra" else DWARF_REGS_X86_64.index(reg)
            got = rule.regs.get(regno)
            if text == "u":
                assert got in (None, ("undefined",)), (hex(loc), reg)
            elif text.startswith("c"):
                assert got == ("offset", int(text[1:])), (hex(loc), reg)


def test_libc_rules_are_found_lazily():
    libc = elf.open_elf("/lib/x86_64-linux-gnu/libc.so.6")
    cf = cfi.frames_for(libc)
    m = libc.lookup("malloc")[0]
    rule = cf.rule_at(m.address)
    assert rule is not None and rule.cfa_reg == 7 and rule.cfa_offset == 8    # at entry: CFA = rsp+8
    assert rule.regs[16] == ("offset", -8)


class _Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss "
        "fs_base gs_base ds es fs gs").split()]


@pytest.mark.parametrize("flags", [("-O0", "-g"), ("-O2", "-g", "-fomit-frame-pointer")])
def test_live_unwind_through_libc(flags):
    exe = build_target("dbg_unwind.c", flags=flags)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        if libc.ptrace(16, proc.pid, None, None) != 0:          # PTRACE_ATTACH
            pytest.skip("ptrace not permitted")
        os.waitpid(proc.pid, 0)
        regs = _Regs()
        assert libc.ptrace(12, proc.pid, None, ctypes.byref(regs)) == 0   # PTRACE_GETREGS
        mem = open(f"/proc/{proc.pid}/mem", "rb", buffering=0)

        def read_u64(addr):
            try:
                mem.seek(addr)
                data = mem.read(8)
            except (OSError, OverflowError, ValueError):
                return None
            return int.from_bytes(data, "little") if len(data) == 8 else None

        space = AddressSpace.of_pid(proc.pid)

        def modules(addr):
            path = space.module_of(addr)
            return (elf.open_elf(path), space.modules()[path]) if path else None

        named = {n: getattr(regs, n) for n in DWARF_REGS_X86_64 if n in dict(_Regs._fields_)}
        pcs = cfi.unwind(cfi.regs_from_names(named), read_u64, modules)
        names = [space.lookup(pc).usymname() for pc in pcs]
        mem.close()
        chain = [n for n in names if n in ("c", "b", "a", "main")]
        assert chain == ["c", "b", "a", "main"], names
        assert names.index("c") > 0                            # the innermost frames are libc's sleep
        assert space.lookup(pcs[0]).module.endswith("libc.so.6")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
