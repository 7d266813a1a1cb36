"""User-memory builtins go through ctx->read_user / ctx->read_user_string (the engine's guarded reads).

Here the guarded reads are ctypes callbacks over this process's own memory, so
the compiled code paths (lengths, cuts, faults, defaults) are checked without a tracee.
"""
from __future__ import annotations

import ctypes
import io
import os

import pytest

READ = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)
FAULT_BELOW = 1 << 16  # addresses below this "fault"


FAULT_FROM = [0]  # when set, reads reaching this address fault too (an unmapped page after a buffer)


def _read_user(ctx, addr, buf, n):
    if addr < FAULT_BELOW or (FAULT_FROM[0] and addr + n > FAULT_FROM[0]):
        return -14
    ctypes.memmove(buf, addr, n)
    return n


def _read_user_string(ctx, addr, buf, size):
    if addr < FAULT_BELOW:
        return -14
    data = ctypes.string_at(addr)[: size - 1]
    ctypes.memmove(buf, data + b"\0", len(data) + 1)
    return len(data)


CALLBACKS = (READ(_read_user), READ(_read_user_string))


def run_with_tracee_reads(script: str, **globals_) -> tuple[str, str]:
    pytest.importorskip("stapy.parser.frontend")
    from stapy.options import Options
    from stapy.runtime.run import Runner
    from stapy.session import Session

    opts = Options(script_text=script, global_inits=tuple((k, str(v)) for k, v in globals_.items()))
    compiled = Session(opts, io.StringIO(), io.StringIO()).compile()
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(compiled, opts, out, err)
    runner.load()
    runner.open_output()

    def setup(ctx):
        ctx.pid = os.getpid()
        ctx.tid = os.getpid()
        ctx.read_user = ctypes.cast(CALLBACKS[0], ctypes.c_void_p).value
        ctx.read_user_string = ctypes.cast(CALLBACKS[1], ctypes.c_void_p).value

    probe = next(p for p in compiled.probes if p.family == "timer")
    runner.run_probe(probe, setup)
    runner.close_output()
    return out.getvalue(), err.getvalue()


def test_strings_and_ints_from_memory():
    text = ctypes.create_string_buffer(b"hello world")
    num = ctypes.c_int32(-7)
    big = ctypes.c_uint64(0xFFFFFFFF00000005)
    out, err = run_with_tracee_reads(
        "global s = 0, i = 0, b = 0; probe timer.s(1000) { println(user_string(s), \"|\", user_string_n(s, 5), \"|\", "
        "user_int(i), \" \", user_uint32(i), \" \", user_long(b), \" \", user_int8(b), \"|\", "
        "user_string(1, \"dflt\"), \"|\", user_int(1)) }",
        s=ctypes.addressof(text), i=ctypes.addressof(num), b=ctypes.addressof(big))
    assert err == ""
    assert out == "hello world|hello|-7 4294967289 -4294967291 5|dflt|0\n"


def test_user_string_is_cut_at_510_characters():
    text = ctypes.create_string_buffer(b"x" * 600)
    out, err = run_with_tracee_reads("global s = 0; probe timer.s(1000) { println(strlen(user_string(s))) }",
                                     s=ctypes.addressof(text))
    assert out == "510\n"


def test_fault_inside_a_tracee_read():
    out, err = run_with_tracee_reads("global s = 0; probe timer.s(1000) { println(user_string(s)) }", s=16)
    # the fault is raised inside the tapset's user_string_n: compare up to ` near `, then the user's frame
    assert err.startswith("ERROR: user string copy fault -14 at 0x10 [man error::fault] near ")
    assert "(called from identifier 'user_string' at <input>:1:45) in probe timer.s(1000)\n" in err


def run_with_registers(script: str, regs: dict) -> str:
    pytest.importorskip("stapy.parser.frontend")
    from stapy.codegen.abi import N_USER_REGS, REG_INDEX
    from stapy.options import Options
    from stapy.runtime.run import Runner
    from stapy.session import Session

    opts = Options(script_text=script)
    compiled = Session(opts, io.StringIO(), io.StringIO()).compile()
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(compiled, opts, out, err)
    runner.load()
    runner.open_output()
    buf = (ctypes.c_uint64 * N_USER_REGS)()
    for name, value in regs.items():
        buf[REG_INDEX[name]] = value & 0xFFFFFFFFFFFFFFFF

    def setup(ctx):
        ctx.pid = os.getpid()
        ctx.regs = ctypes.addressof(buf)
        ctx.read_user = ctypes.cast(CALLBACKS[0], ctypes.c_void_p).value

    probe = next(p for p in compiled.probes if p.family == "timer")
    runner.run_probe(probe, setup)
    runner.close_output()
    assert err.getvalue() == ""
    return out.getvalue()


def test_registers_and_arguments():
    stack = (ctypes.c_int64 * 3)(0, 66, 77)  # at entry: [rsp] return address, arg 7 at rsp+8, arg 8 at rsp+16
    regs = {"rax": -2, "rbx": 0x1234, "rdi": 0xFFFFFFFF, "rsi": 2, "rdx": 3, "rcx": 4, "r8": 5, "r9": 6,
            "rsp": ctypes.addressof(stack), "rip": 0x401000}
    out = run_with_registers(
        'probe timer.s(1000) { println(register("rax"), " ", u_register("eax"), " ", register("eax"), " ", '
        'register("bh"), " ", int_arg(1), " ", uint_arg(1), " ", long_arg(1), " ", long_arg(6), " ", '
        'long_arg(7), " ", long_arg(8), " ", returnval()) }', regs)
    # eax of -2 is 0xfffffffe (u_register) / -2 (register); bh = byte 1 of rbx = 0x12;
    # arg 1 (rdi) as int is -1, as uint 4294967295; args 7 and 8 come from the stack
    assert out == "-2 4294967294 -2 18 -1 4294967295 4294967295 6 66 77 -2\n"


def test_print_regs_layout():
    regs = {name: i + 1 for i, name in enumerate(
        ["rip", "rsp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
         "r14", "r15"])}
    out = run_with_registers("probe timer.s(1000) { print_regs() }", regs)
    assert out == ("RIP: 0000000000000001\nRSP: 0000000000000002\n"
                   "RAX: 0000000000000003 RBX: 0000000000000004 RCX: 0000000000000005\n"
                   "RDX: 0000000000000006 RSI: 0000000000000007 RDI: 0000000000000008\n"
                   "RBP: 0000000000000009 R08: 000000000000000a R09: 000000000000000b\n"
                   "R10: 000000000000000c R11: 000000000000000d R12: 000000000000000e\n"
                   "R13: 000000000000000f R14: 0000000000000010 R15: 0000000000000011\n")


def test_utf16_and_utf32_strings():
    u16 = ctypes.create_string_buffer("hé€😀".encode("utf-16-le") + b"\0\0")
    u32 = ctypes.create_string_buffer("hé€😀".encode("utf-32-le") + b"\0\0\0\0")
    bad = ctypes.create_string_buffer((0xDC00).to_bytes(2, "little") + b"\0\0")
    out, err = run_with_tracee_reads(
        "global a = 0, b = 0, c = 0; probe timer.s(1000) { println(user_string_utf16(a), \"|\", "
        "user_string_utf32(b), \"|\", user_string_utf16(c, \"dflt\")); println(user_string_utf16(1)) }",
        a=ctypes.addressof(u16), b=ctypes.addressof(u32), c=ctypes.addressof(bad))
    assert out == "hé€😀|hé€😀|dflt\n"
    assert err.startswith("ERROR: user string copy fault at 0x1 [man error::fault] near ")


def test_user_buffer_quoted():
    """uconversions.stp user_buffer_quoted: _stp_text_str in buffer mode; a fault gives snprintf(outlen, "0x%lx")."""
    data = ctypes.create_string_buffer(b"ab\0c\ndefgh", 11)
    out, err = run_with_tracee_reads(
        'global a = 0; probe timer.s(1000) { println(user_buffer_quoted(a, 5, 20), "|", user_buffer_quoted(a, 10, 8), "|", '
        'user_buffer_quoted(a, 5, 0), "|", user_buffer_quoted(4096, 5, 20), "|", user_buffer_quoted(4096, 5, 3)) }',
        a=ctypes.addressof(data))
    assert err == ""
    # outlen 8 -> 6 of room: a b (2) \0 (num 4, 2 written: out = 5) -> full; 'c' breaks; the cut at
    # out - 3 + 0 = 2 is before the escape (esc = 3), so it stays: `"a`, then `"...`
    assert out == '"ab\\0c\\n"|"a"...||0x1000|0x\n'


def test_user_buffer_quoted_reads_only_what_stap_touches():
    """stap reads the buffer byte by byte and stops when the output is full: bytes past that may be unmapped."""
    data = ctypes.create_string_buffer(b"a" * 64, 64)
    base = ctypes.addressof(data)
    FAULT_FROM[0] = base + 40
    try:
        out, err = run_with_tracee_reads(
            'global a = 0; probe timer.s(1000) { println(user_buffer_quoted(a, 64, 10), "|", user_buffer_quoted(a, 64, 60)) }',
            a=base)
    finally:
        FAULT_FROM[0] = 0
    # outlen 10: 8 characters of room, cut -> `"aaaaa"...`; outlen 60 would need byte 40 and beyond: the address
    assert out == '"aaaaa"...|0x%x\n' % base
