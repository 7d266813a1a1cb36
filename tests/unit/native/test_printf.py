"""printf/sprintf conversions through the compiled helpers.

Expected values are reasoned from runtime/vsprintf.c (number(), _stp_vsprint_char,
_stp_vsprint_memory, _stp_vsprint_binary) and translate.cxx's compiled printf
(widths/precisions cut to the room left), as LANGUAGE.md 10.1 summarises.
"""
import ctypes
import struct

import pytest

from native_jit import native, sprintf
from stapy.runtime.native.helpers import (FMT_LARGE as LARGE, FMT_LEFT as LEFT, FMT_PLUS as PLUS,
                                          FMT_SIGN as SIGN, FMT_SPACE as SPACE, FMT_SPECIAL as SPECIAL,
                                          FMT_ZEROPAD as ZERO)

N = native()
NONE = -1

# (conversion, value, flags, width, precision, expected)
NUMBERS = [
    ("%d", 42, SIGN, NONE, NONE, b"42"),
    ("%d", -42, SIGN, NONE, NONE, b"-42"),
    ("%i", -7, SIGN, NONE, NONE, b"-7"),
    ("%5d", 42, SIGN, 5, NONE, b"   42"),
    ("%-5d", 42, SIGN | LEFT, 5, NONE, b"42   "),
    ("%05d", 42, SIGN | ZERO, 5, NONE, b"00042"),
    ("%05d", -42, SIGN | ZERO, 5, NONE, b"-0042"),
    ("%+d", 5, SIGN | PLUS, NONE, NONE, b"+5"),
    ("%+d", -5, SIGN | PLUS, NONE, NONE, b"-5"),
    ("%+05d (0 is width)", 1, SIGN | PLUS, 5, NONE, b"   +1"),
    ("% d", 5, SIGN | SPACE, NONE, NONE, b" 5"),
    ("% d", -5, SIGN | SPACE, NONE, NONE, b"-5"),
    ("% 4d", 5, SIGN | SPACE, 4, NONE, b"   5"),
    ("%.3d", 7, SIGN, NONE, 3, b"007"),
    ("%.3d", -7, SIGN, NONE, 3, b"-007"),
    ("%.0d", 0, SIGN, NONE, 0, b"0"),
    ("%08.3d", 5, SIGN | ZERO, 8, 3, b"00000005"),
    ("%6.3d", 5, SIGN, 6, 3, b"   005"),
    ("%-6.3d", 5, SIGN | LEFT, 6, 3, b"005   "),
    ("%d", -(1 << 63), SIGN, NONE, NONE, b"-9223372036854775808"),
    ("%d", (1 << 63) - 1, SIGN, NONE, NONE, b"9223372036854775807"),
    ("%u", -1, 0, NONE, NONE, b"18446744073709551615"),
    ("%u", 0, 0, NONE, NONE, b"0"),
    ("%x", 255, 0, NONE, NONE, b"ff"),
    ("%X", 255, LARGE, NONE, NONE, b"FF"),
    ("%x", -1, 0, NONE, NONE, b"ffffffffffffffff"),
    ("%#x", 255, SPECIAL, NONE, NONE, b"0xff"),
    ("%#X", 255, SPECIAL | LARGE, NONE, NONE, b"0XFF"),
    ("%#x of 0", 0, SPECIAL, NONE, NONE, b"0x0"),
    ("%#8x", 255, SPECIAL, 8, NONE, b"    0xff"),
    ("%#-8x", 255, SPECIAL | LEFT, 8, NONE, b"0xff    "),
    ("%#.4x", 255, SPECIAL, NONE, 4, b"0x00ff"),
    ("%08x", 255, ZERO, 8, NONE, b"000000ff"),
    ("%o", 8, 0, NONE, NONE, b"10"),
    ("%#o", 8, SPECIAL, NONE, NONE, b"010"),
    ("%#o of 0", 0, SPECIAL, NONE, NONE, b"00"),
    ("%#5o", 8, SPECIAL, 5, NONE, b"  010"),
    ("%p", 0x1234, SPECIAL, NONE, NONE, b"0x1234"),
    ("%p of 0", 0, SPECIAL, NONE, NONE, b"0x0"),
    ("%10p", 0x1234, SPECIAL, 10, NONE, b"    0x1234"),
    ("%-10p", 0x1234, SPECIAL | LEFT, 10, NONE, b"0x1234    "),
    ("%p of -1", -1, SPECIAL, NONE, NONE, b"0xffffffffffffffff"),
    ("%2d (narrow)", 12345, SIGN, 2, NONE, b"12345"),
    ("%-05d (left beats zero)", 42, SIGN | LEFT | ZERO, 5, NONE, b"42   "),
]


@pytest.mark.parametrize("label,value,flags,width,prec,expected", NUMBERS, ids=[n[0] for n in NUMBERS])
def test_number(label, value, flags, width, prec, expected):
    conv = next(c for c in label[1:] if c.isalpha())
    base = {"d": 10, "i": 10, "u": 10, "o": 8, "x": 16, "X": 16, "p": 16}[conv]
    assert sprintf(N, ("num", value, flags, width, prec, base)) == expected


def test_star_arguments_clamp_to_zero_and_never_left_justify():
    assert N.stp_fmt_star(-5) == 0
    assert N.stp_fmt_star(7) == 7
    assert N.stp_fmt_star((1 << 32) + 3) == 3  # stap takes (int)arg
    assert sprintf(N, ("num", 42, SIGN, N.stp_fmt_star(-6), NONE, 10), ("lit", "|")) == b"42|"
    # %.*s with a negative precision: clamp to 0 -> no characters
    assert sprintf(N, ("str", "abc", 0, NONE, N.stp_fmt_star(-1))) == b""


CHARS = [
    ("%c", 65, 0, NONE, b"A"),
    ("%c low byte", 0x141, 0, NONE, b"A"),
    ("%3c", 65, 0, 3, b"  A"),
    ("%-3c", 65, LEFT, 3, b"A  "),
    ("%#c newline", 10, SPECIAL, NONE, b"\\n"),
    ("%#c tab", 9, SPECIAL, NONE, b"\\t"),
    ("%#c quote", 39, SPECIAL, NONE, b"\\'"),
    ("%#c backslash", 92, SPECIAL, NONE, b"\\\\"),
    ("%#c double quote stays", 34, SPECIAL, NONE, b'"'),
    ("%#c octal", 1, SPECIAL, NONE, b"\\001"),
    ("%#c high byte", 200, SPECIAL, NONE, b"\\310"),
    ("%#c plain", 65, SPECIAL, NONE, b"A"),
    ("%#6c escape padded", 1, SPECIAL, 6, b"  \\001"),
    ("%#-4c", 10, SPECIAL | LEFT, 4, b"\\n  "),
    ("%c raw control", 10, 0, NONE, b"\n"),
    ("%05c zero flag ignored", 65, ZERO, 5, b"    A"),
]


@pytest.mark.parametrize("label,value,flags,width,expected", CHARS, ids=[c[0] for c in CHARS])
def test_char(label, value, flags, width, expected):
    assert sprintf(N, ("char", value, flags, width)) == expected


STRINGS = [
    ("%s", "hello", 0, NONE, NONE, b"hello"),
    ("%5s", "ab", 0, 5, NONE, b"   ab"),
    ("%-5s", "ab", LEFT, 5, NONE, b"ab   "),
    ("%.2s", "abcdef", 0, NONE, 2, b"ab"),
    ("%5.2s", "abcdef", 0, 5, 2, b"   ab"),
    ("%-5.2s", "abcdef", LEFT, 5, 2, b"ab   "),
    ("%.0s", "abc", 0, NONE, 0, b""),
    ("%1s", "abc", 0, 1, NONE, b"abc"),
    ("%05s pads spaces then writes a NUL", "ab", ZERO, 5, NONE, b"   ab\0"),
    ("%s empty", "", 0, NONE, NONE, b""),
    ("%3s empty", "", 0, 3, NONE, b"   "),
]


@pytest.mark.parametrize("label,s,flags,width,prec,expected", STRINGS, ids=[s[0] for s in STRINGS])
def test_string(label, s, flags, width, prec, expected):
    assert sprintf(N, ("str", s, flags, width, prec)) == expected


V = 0x0102030405060708
BINARY = [
    ("%b", 0, NONE, NONE, struct.pack("<q", V)),
    ("%4b", 0, 4, NONE, struct.pack("<i", V & 0xFFFFFFFF)),
    ("%.2b", 0, NONE, 2, struct.pack("<h", V & 0xFFFF)),
    ("%1b", 0, 1, NONE, b"\x08"),
    ("%.1b", 0, NONE, 1, b"\x08"),
    ("%8.2b", 0, 8, 2, b"\0" * 6 + b"\x08\x07"),
    ("%-8.2b", LEFT, 8, 2, b"\x08\x07" + b"\0" * 6),
    ("%6b (bad width -> 8 bytes)", 0, 6, NONE, struct.pack("<q", V)),
    ("%.3b (bad precision -> 8)", 0, NONE, 3, struct.pack("<q", V)),
]


@pytest.mark.parametrize("label,flags,width,prec,expected", BINARY, ids=[b[0] for b in BINARY])
def test_binary(label, flags, width, prec, expected):
    assert sprintf(N, ("bin", V, flags, width, prec), size=64) == expected


def test_binary_that_does_not_fit_is_dropped():
    # 509 bytes used, 3 left: an 8-byte %b does not fit (str + precision - 1 > end) and writes nothing
    out = sprintf(N, ("lit", "x" * 509), ("bin", V, 0, NONE, NONE), ("lit", "yz"), size=512)
    assert out == b"x" * 509 + b"yz"


def test_percent_and_literals():
    assert sprintf(N, ("lit", "a"), ("lit", "%"), ("num", 3, SIGN, NONE, NONE, 10), ("lit", "b")) == b"a%3b"


# ---- %m / %M read through the callback
READFN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)
MEMORY = {0x1000 + i: b for i, b in enumerate(b"ABCD\x01\xfe")}


@READFN
def _read(ctx, addr, dst, n):
    for i in range(n):
        if addr + i not in MEMORY:
            return -14
        ctypes.memmove(dst + i, bytes([MEMORY[addr + i]]), 1)
    return 0


def mem(addr, flags, width, prec, hexform, size=512, prefix=b""):
    ctx = N.ctx()
    buf = ctypes.create_string_buffer(size + 8)
    start = 0
    if prefix:
        start = N.stp_fmt_lit(buf, 0, size, prefix, len(prefix))
    n = N.stp_fmt_mem(ctx, buf, start, size, addr, flags, width, prec, hexform, _read)
    return (buf.raw[:n] if n >= 0 else None), ctx.errmsg


MEMS = [
    ("%m one byte by default", 0x1000, 0, NONE, NONE, 0, b"A"),
    ("%.0m is one byte", 0x1000, 0, NONE, 0, 0, b"A"),
    ("%.4m", 0x1000, 0, NONE, 4, 0, b"ABCD"),
    ("%6.2m", 0x1000, 0, 6, 2, 0, b"    AB"),
    ("%-6.2m", 0x1000, LEFT, 6, 2, 0, b"AB    "),
    ("%.6M", 0x1000, 0, NONE, 6, 1, b"4142434401fe"),
    ("%M", 0x1004, 0, NONE, NONE, 1, b"01"),
    ("%10.2M", 0x1000, 0, 10, 2, 1, b"      4142"),
    ("%-10.2M", 0x1000, LEFT, 10, 2, 1, b"4142      "),
]


@pytest.mark.parametrize("label,addr,flags,width,prec,hexform,expected", MEMS, ids=[m[0] for m in MEMS])
def test_memory(label, addr, flags, width, prec, hexform, expected):
    assert mem(addr, flags, width, prec, hexform)[0] == expected


def test_memory_fault_and_size_limit():
    out, msg = mem(0x1004, 0, NONE, 4, 0)
    assert out is None and msg == b"read fault [man error::fault] at 0x1006"
    out, msg = mem(0x1000, 0, NONE, 5000, 0)
    assert out is None and msg == b"5000 is too many bytes for a memory dump"
    out, msg = mem(0x1000, 0, NONE, 4096, 0)  # 4096 is allowed; the fault comes from reading
    assert out is None and msg.startswith(b"read fault")


def test_memory_reads_only_what_fits():
    # 2 bytes of room: %.6m reads two bytes, so the faulting tail is never touched
    out, msg = mem(0x1004, 0, NONE, 6, 0, size=4, prefix=b"xy")
    assert out == b"xy\x01\xfe"


# ---- limits: sprintf cut at 511, printf at 8192
def test_sprintf_cut_at_511():
    buf = ctypes.create_string_buffer(512)
    s = N.s("a" * 400)
    n = N.stp_fmt_str(buf, 0, 512, s, 0, NONE, NONE)
    n = N.stp_fmt_str(buf, n, 512, s, 0, NONE, NONE)
    assert n == 512
    assert N.stp_fmt_finish(buf, n, 512) == 511
    assert buf.value == b"a" * 511


def test_number_cut_mid_digits():
    out = sprintf(N, ("lit", "x" * 508), ("num", 123456, SIGN, NONE, NONE, 10))
    buf = ctypes.create_string_buffer(out + b"\0" * 8)
    assert N.stp_fmt_finish(buf, len(out), 512) == 511
    assert buf.value == b"x" * 508 + b"123"


def test_printf_at_most_8192_with_width_cut_to_room():
    # compiled printf cuts a width to the room left: %8000d after 500 bytes pads to the end
    # and still prints the digit (the byte count stays 8192)
    out = sprintf(N, ("str", "s" * 500, 0, NONE, NONE), ("lit", "s" * 0), size=8192)
    s = N.s("s" * 500)
    buf = ctypes.create_string_buffer(8200)
    n = N.stp_fmt_str(buf, 0, 8192, s, 0, NONE, NONE)
    n = N.stp_fmt_num(buf, n, 8192, 1, SIGN, 8000, NONE, 10)
    assert n == 8192
    assert buf.raw[:500] == out and buf.raw[8191:8192] == b"1" and buf.raw[500:8191] == b" " * 7691


def test_str_from_long():
    d = N.s()
    N.stp_str_from_long(d, -1234)
    assert d.value == b"-1234"
