"""Locations evaluated in a live process stopped (int3 through ptrace) at the probe addresses the
resolver picks: the values must be the ones the C program passed."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time

import pytest

from conftest import build_target
from stapy.debuginfo import cfi, elf
from stapy.debuginfo.dwarf import dwarf_for
from stapy.debuginfo.evaluate import evaluate
from stapy.debuginfo.locations import DWARF_REGS_X86_64
from stapy.debuginfo.resolve import resolve_process_probe

PTRACE_PEEKTEXT, PTRACE_POKETEXT, PTRACE_CONT, PTRACE_GETREGS, PTRACE_ATTACH = 1, 4, 7, 12, 16


class _Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss "
        "fs_base gs_base ds es fs gs").split()]


class Stopped:
    """A child stopped by ptrace; minimal, just for these tests."""

    def __init__(self, exe):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        self.libc.ptrace.restype = ctypes.c_long
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:          # attach once main blocks in read(0, ...)
            try:
                with open(f"/proc/{self.proc.pid}/syscall") as f:
                    if f.read().split()[0] == "0":
                        break
            except (OSError, IndexError):
                pass
            time.sleep(0.002)
        if self.libc.ptrace(PTRACE_ATTACH, self.proc.pid, None, None) != 0:
            pytest.skip("ptrace not permitted")
        os.waitpid(self.proc.pid, 0)
        self.mem = open(f"/proc/{self.proc.pid}/mem", "r+b", buffering=0)
        self.bias = elf.load_bias(self.proc.pid, str(exe))

    def read(self, addr, n):
        try:
            self.mem.seek(addr)
            data = self.mem.read(n)
        except (OSError, ValueError, OverflowError):
            return None
        return data if len(data) == n else None

    def break_at(self, addr):
        old = self.read(addr, 1)
        self.mem.seek(addr)
        self.mem.write(b"\xcc")
        return old

    def run_to_trap(self):
        self.proc.stdin.write(b"x")
        self.proc.stdin.flush()
        sig = 0
        while True:
            assert self.libc.ptrace(PTRACE_CONT, self.proc.pid, None, sig) == 0
            _, status = os.waitpid(self.proc.pid, 0)
            assert os.WIFSTOPPED(status)
            if os.WSTOPSIG(status) == signal.SIGTRAP:
                break
            sig = 0 if os.WSTOPSIG(status) == signal.SIGSTOP else os.WSTOPSIG(status)
        regs = _Regs()
        assert self.libc.ptrace(PTRACE_GETREGS, self.proc.pid, None, ctypes.byref(regs)) == 0
        named = {n: getattr(regs, n) for n, _ in _Regs._fields_}
        named["rip"] -= 1                       # back over the int3
        return cfi.regs_from_names(named)

    def close(self):
        self.mem.close()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def values_at(exe, func, inspect=None):
    """{var: (Variable, bytes)} at the probe of func; inspect(vals, read) runs while the tracee lives."""
    site = resolve_process_probe(str(exe), [("function", func)])[0]
    ef = elf.open_elf(str(exe))
    mod = dwarf_for(ef)
    t = Stopped(exe)
    try:
        t.break_at(site.address + t.bias)
        regs = t.run_to_trap()
        assert regs[16] == site.address + t.bias
        rule = cfi.frames_for(ef).rule_at(site.address)
        cfa = regs[rule.cfa_reg] + rule.cfa_offset
        out = {}
        for v in mod.variables(site.dwarf_function, site.address):
            data = evaluate(v.location, v.type.size, regs, t.read, cfa, t.bias)
            out[v.name] = (v, data)
        if inspect is not None:
            inspect(out, t.read)
        return out
    finally:
        t.close()


def as_int(data, signed=True):
    return int.from_bytes(data, "little", signed=signed)


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_scalar_parameters(opt):
    exe = build_target("dbg_vars.c", flags=(opt, "-g"))
    vals = values_at(exe, "add")
    assert as_int(vals["a"][1]) == 40 and as_int(vals["b"][1]) == 2
    if opt == "-O2":
        assert as_int(vals["c"][1]) == 42            # a computed value, never stored


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_pointer_struct_and_string_parameters(opt):
    exe = build_target("dbg_vars.c", flags=(opt, "-g"))
    seen = {}

    def inspect(vals, read):
        p_var, p_data = vals["p"]
        assert p_var.type_name == "struct pt*"
        p = as_int(p_data, signed=False)
        pt = p_var.type.target
        seen["x"] = as_int(read(p + pt.member("x").offset, 4))
        seen["y"] = as_int(read(p + pt.member("y").offset, 4))
        seen["tag"] = read(as_int(vals["tag"][1], signed=False), 11)

    vals = values_at(exe, "show", inspect)
    assert seen == {"x": 11, "y": -22, "tag": b"hello, vars"}
    assert vals["big"][0].type_name == "ulong_t" and as_int(vals["big"][1], signed=False) == 0x123456789A
