"""Floating point: stap's floatingpoint tapset and float/double target variables (memory and xmm registers).

Expected texts come from stap's testsuite (systemtap.base/floatingpoint.exp), from a Python model of
runtime/softfloat.c's algorithms (f64_to_str, str_to_f64, f64_to_i64; Python floats are IEEE doubles
with the same correctly rounded + - * /), and, for target variables, from the bit patterns the
target prints itself.
"""
from __future__ import annotations

import math
import random
import re
import struct

import pytest

from conftest import build_target, run_stapy

O0 = ("-O0", "-g")
O2 = ("-O2", "-g")
DEFAULT_NAN = 0x7FF8000000000000


def bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def flt(u: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", u & (2**64 - 1)))[0]


def signed(u: int) -> int:
    u &= 2**64 - 1
    return u - 2**64 if u >> 63 else u


# ---------------------------------------------------------------------- a model of softfloat.c
def model_to_str(u: int, precision: int) -> str:
    """f64_to_str [runtime/softfloat.c]."""
    exp = (u >> 52) & 0x7FF
    if exp == 0x7FF:
        return "NaN" if u & ((1 << 52) - 1) else ("-Infinity" if u >> 63 else "Infinity")
    out = "-" if u >> 63 else ""
    a = flt(u & ~(1 << 63))
    e10 = 0
    while 1e18 <= a:
        a = a / 10.0
        e10 += 1
    ipart = int(a)
    frac = a - float(ipart)
    out += str(ipart)
    if precision > 0:
        out += "."
        for _ in range(precision - 1):
            frac = frac * 10.0
            d = int(frac)
            out += str(d)
            frac = frac - float(d)
        frac = frac * 10.0
        last = int(frac)
        frac = (frac - float(last)) * 10.0
        if int(frac) >= 5:
            last += 1
        out += str(last)
    if e10:
        out += f"e{e10}"
    return out[:511]


def model_from_str(s: str) -> int | None:
    """str_to_f64; None where stap raises 'invalid format'."""
    i = 0
    sign = -1.0 if s[:1] == "-" else 1.0
    if s[:1] in ("-", "+"):
        i += 1
    value = 0.0
    while i < len(s) and s[i].isdigit():
        value = value * 10.0 + float(int(s[i]))
        i += 1
    if i < len(s) and s[i] == ".":
        i += 1
    power = 1.0
    while i < len(s) and s[i].isdigit():
        value = value * 10.0 + float(int(s[i]))
        power *= 10.0
        i += 1
    if i < len(s) and s[i] in "eE":
        i += 1
        neg = s[i:i + 1] == "-"
        if s[i:i + 1] in ("-", "+"):
            i += 1
        p2 = 0.0
        while i < len(s) and s[i].isdigit():
            p2 = p2 * 10.0 + float(int(s[i]))
            i += 1
        while p2 != 0.0:
            power = power * 10.0 if neg else power / 10.0
            p2 -= 1.0
    if i != len(s):
        return None
    try:
        r = sign * (value / power)
    except ZeroDivisionError:
        return None
    return None if math.isnan(r) else bits(r)


def model_to_long(u: int, mode: int) -> int:
    """f64_to_i64 without SOFTFLOAT_ROUND_ODD."""
    x = flt(u)
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return 2**63 - 1 if x > 0 else -2**63
    mode &= 0xFF
    r = {0: round(x), 2: math.floor(x), 3: math.ceil(x),
         4: math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)}.get(mode, math.trunc(x))
    r = int(r)
    return 2**63 - 1 if r >= 2**63 else -2**63 if r < -2**63 else r


def run_begin(body: str):
    r = run_stapy("-e", "probe begin { " + body + " exit() }")
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_stap_testsuite_floatingpoint():
    """systemtap.base/floatingpoint.stp and its expected output (floatingpoint.exp)."""
    lines = run_begin(
        'println(fp_to_string(string_to_fp("0.00001"), 8))'
        ' println(fp_to_string(string_to_fp("-0.00001"), 8))'
        ' println(fp_to_string(string_to_fp("3.14159"), 5))'
        ' println(fp_to_string(string_to_fp("89898298323423423423987293485342893.00000001"), 10))'
        ' println(fp_to_string(string_to_fp("-89898298323423423423987293485342893.00000001"), 10))'
        ' println(fp_to_string(string_to_fp("9223372036854775807"), 0))')
    assert lines == ["0.00001000", "-0.00001000", "3.14159", "898982983234234624.0000000000e17",
                     "-898982983234234624.0000000000e17", "922337203685477760e1"]


def test_fp_to_string_and_string_to_fp_like_softfloat():
    rng = random.Random(5)
    values = [0.0, -0.0, 0.96, 0.5, 1e-300, 5e-324, 123456.789, 1e18, 9.999999999999999e17, 2.0**70,
              float("inf"), float("-inf"), float("nan")]
    values += [rng.uniform(-1e6, 1e6) for _ in range(12)] + [rng.uniform(-1, 1) * 10.0 ** rng.randint(-20, 40)
                                                             for _ in range(12)]
    precs = [rng.choice([0, 1, 3, 6, 17, -2]) for _ in values]
    texts = ["1.5", "-2.25e3", "+7", "", "-", ".5", "1e-5", "3.14159", "12e", "1.5x", "nan", "1e-400", "0e-400",
             "123456789012345678901234567890"]
    body = "".join(f'println(fp_to_string({signed(bits(v))}, {p})) ' for v, p in zip(values, precs))
    body += "".join(f'try {{ printf("%x\\n", string_to_fp("{t}")) }} catch (e) {{ println(e) }} ' for t in texts)
    lines = run_begin(body)
    want = [model_to_str(bits(v), p) for v, p in zip(values, precs)]
    want += ["invalid format" if model_from_str(t) is None else f"{model_from_str(t):x}" for t in texts]
    assert lines == want


def test_arithmetic_nans_and_rounding_like_softfloat():
    one, two, zero, mzero = bits(1.0), bits(2.0), bits(0.0), bits(-0.0)
    inf, ninf = bits(float("inf")), bits(float("-inf"))
    qnan, snan = 0x7FF8000000000123, 0x7FF0000000000456
    cases = [("fp_add", one, two), ("fp_sub", one, two), ("fp_mul", bits(0.1), bits(3.0)),
             ("fp_div", one, bits(3.0)), ("fp_div", zero, zero), ("fp_div", one, zero), ("fp_sub", inf, inf),
             ("fp_mul", inf, zero), ("fp_rem", bits(7.0), two), ("fp_rem", bits(5.5), bits(-2.0)),
             ("fp_rem", one, zero), ("fp_rem", inf, one), ("fp_rem", bits(3.0), inf),
             ("fp_add", qnan, one), ("fp_add", one, qnan), ("fp_add", snan, qnan), ("fp_mul", one, snan)]
    body = "".join(f'printf("%x\\n", {f}({signed(a)}, {signed(b)})) ' for f, a, b in cases)
    sq = [bits(2.0), bits(-1.0), mzero, snan, inf]
    body += "".join(f'printf("%x\\n", fp_sqrt({signed(a)})) ' for a in sq)
    lt = [(one, two), (two, one), (zero, mzero), (qnan, one), (one, one)]
    body += "".join(f'println(fp_eq({signed(a)}, {signed(b)}), fp_le({signed(a)}, {signed(b)}), '
                    f'fp_lt({signed(a)}, {signed(b)})) ' for a, b in lt)
    conv = [2.5, -2.5, 3.5, -2.7, 2.7, 1e30, -1e30, 9.3e18, -9223372036854775808.0]
    body += "".join(f'println(fp_to_long({signed(bits(v))}, {m}, 0)) ' for v in conv for m in (0, 1, 2, 3, 4, 6, 261))
    body += f'println(fp_to_long({signed(qnan)}, 0, 1)) printf("%x %x %x\\n", long_to_fp(-3), long_to_fp(0), ' \
            f'long_to_fp(-9223372036854775807-1)) '
    body += 'printf("%x %x %x %x\\n", fp32_to_fp64(0x3fc00000), fp32_to_fp64(0xff800001), ' \
            'fp32_to_fp64(0x100000003f800000), fp32_to_fp64(1)) '
    lines = run_begin(body)

    def op(f, a, b):
        x, y = flt(a), flt(b)
        nan = lambda u: (u & ~(1 << 63)) > 0x7FF0000000000000  # noqa: E731
        if nan(a) or nan(b):  # softfloat_propagateNaNF64UI
            sa, sb = nan(a) and not a & (1 << 51), nan(b) and not b & (1 << 51)
            return ((a if sa else b) | (1 << 51)) if (sa or sb) else (a if nan(a) else b)
        try:
            r = {"fp_add": x + y, "fp_sub": x - y, "fp_mul": x * y, "fp_div": x / y if y else None,
                 "fp_rem": math.remainder(x, y) if y and not math.isinf(x) else None}[f]
        except (OverflowError, ValueError):
            r = None
        if f == "fp_div" and y == 0:
            r = None if x == 0 else math.copysign(float("inf"), x) * math.copysign(1, y)
        return DEFAULT_NAN if r is None or math.isnan(r) else bits(r)

    want = [f"{op(f, a, b):x}" for f, a, b in cases]
    want += [f"{bits(math.sqrt(2.0)):x}", f"{DEFAULT_NAN:x}", f"{mzero:x}", f"{snan | (1 << 51):x}", f"{inf:x}"]
    want += ["011", "000", "110", "000", "110"]
    want += [str(model_to_long(bits(v), m)) for v in conv for m in (0, 1, 2, 3, 4, 6, 261)]
    want += ["0", f"{bits(-3.0):x} 0 {bits(-2.0**63):x}",
             f"{bits(1.5):x} fff8000020000000 {bits(1.0):x} {bits(struct.unpack('<f', struct.pack('<I', 1))[0]):x}"]
    assert lines == want


# ---------------------------------------------------------------------- target variables
def _program_bits(out: str) -> dict:
    """name -> bits from the target's own `KEY name=0x... ...` lines (keys are the line's first word)."""
    vals = {}
    for line in out.splitlines():
        words = line.split()
        for w in words[1:]:
            m = re.fullmatch(r"([a-z_]+)=(0x[0-9a-f]+|\d+)", w)
            if m:
                vals[f"{words[0]}.{m.group(1)}"] = int(m.group(2), 0)
    return vals


@pytest.mark.parametrize("flags", [O0, O2], ids=["O0", "O2"])
def test_float_target_variables_match_the_program(flags):
    binary = build_target("tv_float.c", flags=flags)
    script = (
        'probe process("@BIN@").function("scale") { printf("S %x %x %d\\n", $x, $y, $n)'
        '  println("SP ", $$parms) println("SQ ", $$parms$) println("SF ", fp_to_string($x, 6)) }'
        ' probe process("@BIN@").function("scale").return { printf("SR %x %x\\n", $return, @entry($x)) }'
        ' probe process("@BIN@").function("half") { printf("H %x\\n", $v) }'
        ' probe process("@BIN@").function("half").return { printf("HR %x %s\\n", $return, $$return) }'
        ' probe process("@BIN@").function("mid") { printf("M %x %x %x %d\\n", $p->f, $p->d, $k, $p->id)'
        '  println("MP ", $p$) }'
        ' probe process("@BIN@").function("mid").return { printf("MR %x\\n", $return) }'
        ' probe process("@BIN@").function("wide") { println("W ", $$parms) }'
        ' probe process("@BIN@").function("wide").return { println("WR [", $$return, "] [", $$return$, "]") }'
        ' probe process("@BIN@").function("mid") { printf("G %x %x\\n", @var("g_ratio"), @var("g_small")) }')
    r = run_stapy("-e", script.replace("@BIN@", str(binary)), "-c", str(binary))
    assert r.returncode == 0, r.stderr
    v = _program_bits(r.stdout)
    lines = r.stdout.splitlines()

    def line(prefix):
        return next(x for x in lines if x.startswith(prefix + " "))

    x, y, n = v["scale.x"], v["scale.y"], v["scale.n"]
    assert line("S") == f"S {x:x} {y:x} {n}"
    # stap's formats: $$parms is "%#x" per variable; $$parms$ prints floats as "?" (dwarf_pretty_print)
    assert line("SP") == f"SP x={x:#x} y={y:#x} n={n:#x}"
    assert line("SQ") == f"SQ x=? y=? n={n}"
    assert line("SF") == f"SF {model_to_str(x, 6)}"
    assert line("SR") == f"SR {v['scale.ret']:x} {x:x}"
    half_in = bits(struct.unpack("<f", struct.pack("<f", flt(v["scale.ret"])))[0])
    assert line("H") == f"H {half_in:x}"
    assert line("HR") == f"HR {v['half.ret']:x} return={v['half.ret']:#x}"
    assert line("M") == f"M {v['mid.f']:x} {v['mid.d']:x} {v['mid.k']:x} 4"
    assert line("MP") == "MP {.id=4, .f=?, .d=?}"
    assert line("MR") == f"MR {v['mid.ret']:x}"
    assert line("W") == "W q=? k=0x3"  # a long double is "cannot process >64-bit values": "=?"
    assert line("WR") == "WR [] [return=?]"
    assert line("G") == f"G {v['globals.g_ratio']:x} {v['globals.g_small']:x}"


def test_float_write_is_refused_and_double_write_lands():
    """tapsets.cxx: "cannot assign yet to 32-bit float" (pass 2, stap 4.8 -g -p2 says the same); a double in
    memory is written as its bit pattern (-g)."""
    binary = build_target("tv_float.c", flags=O0)
    script = f'probe process("{binary}").function("half") {{ $v = 1 }}'
    r = run_stapy("-g", "-p2", "-e", script)
    assert r.returncode != 0
    col = script.index("$v") + 1
    assert r.stderr.splitlines()[0] == f"semantic error: cannot assign yet to 32-bit float: identifier '$v' at <input>:1:{col}"
    script = (f'probe process("{binary}").function("scale") {{ $x = {signed(bits(0.25))} }}'
              f' probe process("{binary}").function("scale").return {{ printf("R %x\\n", $return) }}')
    r = run_stapy("-g", "-e", script, "-c", str(binary))
    assert r.returncode == 0, r.stderr
    v = _program_bits(r.stdout)
    assert v["scale.x"] == bits(0.25)
    assert f"R {v['scale.ret']:x}" in r.stdout.splitlines()


def test_xmm_local_mid_function_at_O2():
    """A .statement probe in mid(): `s` lives in an xmm register there (read through PTRACE_GETFPREGS);
    p and k survive only as DW_OP_entry_value, which stap 4.8 cannot translate: "?" in $$vars."""
    binary = build_target("tv_float.c", flags=O2)
    script = f'probe process("{binary}").statement("mid@*:29") {{ printf("X %x %s|%s\\n", $s, $$vars, $$parms$) }}'
    r = run_stapy("-e", script, "-c", str(binary))
    assert r.returncode == 0, r.stderr
    s = _program_bits(r.stdout)["mid.s"]
    assert f"X {s:x} p=? k=? s={s:#x}|p={{.id=?, .f=?, .d=?}} k=?" in r.stdout.splitlines(), r.stdout


@pytest.mark.parametrize("flags", [O0, O2], ids=["O0", "O2"])
def test_sdt_float_operands(flags):
    """`8f@%rax` / `4f@...`: stap's SDT parser takes the `f` as the argument's type and reads the value's
    bits unsigned at the given size (tapsets.cxx parse_out_arg_type); a float needs fp32_to_fp64."""
    binary = build_target("tv_float_sdt.c", flags=flags)
    script = (f'probe process("{binary}").mark("fp") {{ printf("M %x %x %s\\n", $arg1, fp32_to_fp64($arg2),'
              ' fp_to_string(fp32_to_fp64($arg2), 3)) }')
    r = run_stapy("-e", script, "-c", str(binary))
    assert r.returncode == 0, r.stderr
    v = _program_bits(r.stdout)
    f64 = bits(struct.unpack("<f", struct.pack("<I", v["go.f"]))[0])
    assert f"M {v['go.d']:x} {f64:x} {model_to_str(f64, 3)}" in r.stdout.splitlines(), r.stdout
