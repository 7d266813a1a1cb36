"""Native bodies of stap's floating-point tapset (tapset/floatingpoint.stp over runtime/softfloat.c).

A script holds a double as its IEEE-754 bit pattern in a long.  stap computes with Berkeley SoftFloat
(8086-SSE specialisation, round to nearest even); stapy uses the FPU, whose +, -, *, /, sqrt and
remainder are the same correctly rounded IEEE operations.  They differ only in NaN bit patterns, so
every result is fixed up to SoftFloat's: an invalid operation gives the default NaN
0x7FF8000000000000 (the FPU's is 0xFFF8...), a NaN operand propagates (a's if a is a NaN, else b's;
a signalling NaN is quietened).  fp_to_long, fp_to_string and string_to_fp follow softfloat.c's
algorithms step for step (f64_to_i64's rounding modes, f64_to_str's digit loop, str_to_f64's parse).

Each operation is one internal IR function per module (stapy_fp_*), called from the handler.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen.builtins import builtin
from stapy.codegen.irbuilder import I32, I64, I8, PTR, VOID, c32, c64
from stapy.codegen.lower_data import declare_helper

F64 = ir.DoubleType()
F32 = ir.FloatType()
I1 = ir.IntType(1)

DEFAULT_NAN = 0x7FF8000000000000
QUIET = 0x0008000000000000
ABS = 0x7FFFFFFFFFFFFFFF
EXP_ALL = 0x7FF0000000000000


def _fn(mb, name, ret, args, body):
    """The module's internal function `name`, built by body(builder, fn) on first use."""
    f = mb.module.globals.get(name)
    if f is None:
        f = ir.Function(mb.module, ir.FunctionType(ret, args), name=name)
        f.linkage = "internal"
        body(ir.IRBuilder(f.append_basic_block("entry")), f)
    return f


def _intrinsic(mb, name, nargs=1):
    return mb.declare(name, F64, [F64] * nargs)


def _d(b, v):
    return b.bitcast(v, F64)


def _bits(b, v):
    return b.bitcast(v, I64)


def _is_nan(b, v):
    return b.icmp_unsigned(">", b.and_(v, c64(ABS)), c64(EXP_ALL))


def _is_snan(b, v):
    return b.and_(_is_nan(b, v), b.icmp_unsigned("==", b.and_(v, c64(QUIET)), c64(0)))


def _propagate(b, x, y):
    """softfloat_propagateNaNF64UI(x, y)."""
    sx, sy = _is_snan(b, x), _is_snan(b, y)
    signalling = b.or_(b.select(sx, x, y), c64(QUIET))
    quiet = b.select(_is_nan(b, x), x, y)
    return b.select(b.or_(sx, sy), signalling, quiet)


def _canon(b, x, y, r):
    """SoftFloat's NaN for an operation on x, y whose FPU result is r."""
    anynan = b.or_(_is_nan(b, x), _is_nan(b, y))
    fixed = b.select(_is_nan(b, r), c64(DEFAULT_NAN), r)
    return b.select(anynan, _propagate(b, x, y), fixed)


def _binary(mb, op):
    def body(b, f):
        x, y = f.args
        dx, dy = _d(b, x), _d(b, y)
        if op == "rem":
            r = b.call(mb.declare("remainder", F64, [F64, F64]), [dx, dy])
        else:
            r = {"add": b.fadd, "sub": b.fsub, "mul": b.fmul, "div": b.fdiv}[op](dx, dy)
        b.ret(_canon(b, x, y, _bits(b, r)))

    return _fn(mb, f"stapy_fp_{op}", I64, [I64, I64], body)


def _sqrt(mb):
    def body(b, f):
        (x,) = f.args
        r = _bits(b, b.call(_intrinsic(mb, "llvm.sqrt.f64"), [_d(b, x)]))
        fixed = b.select(_is_nan(b, r), c64(DEFAULT_NAN), r)
        b.ret(b.select(_is_nan(b, x), b.or_(x, c64(QUIET)), fixed))

    return _fn(mb, "stapy_fp_sqrt", I64, [I64], body)


def _to_long(mb):
    """f64_to_i64(a, roundingMode, exact): NaN is 0, out of range is INT64_MAX / INT64_MIN.  SoftFloat
    here is built without SOFTFLOAT_ROUND_ODD: modes other than 0 (near_even), 2 (min), 3 (max) and
    4 (near_maxMag) truncate (minMag).  `exact` only raises a flag."""
    def body(b, f):
        x, mode = f.args
        d = _d(b, x)
        nan, ok = f.append_basic_block("nan"), f.append_basic_block("num")
        b.cbranch(_is_nan(b, x), nan, ok)
        b.position_at_end(nan)
        b.ret(c64(0))
        b.position_at_end(ok)
        m = b.trunc(mode, I8)
        rounded = b.call(_intrinsic(mb, "llvm.trunc.f64"), [d])
        for k, name in ((0, "llvm.roundeven.f64"), (2, "llvm.floor.f64"), (3, "llvm.ceil.f64"),
                        (4, "llvm.round.f64")):
            r = b.call(_intrinsic(mb, name), [d])
            rounded = b.select(b.icmp_unsigned("==", m, ir.Constant(I8, k)), r, rounded)
        two63 = ir.Constant(F64, 9223372036854775808.0)
        too_big = b.fcmp_ordered(">=", rounded, two63)
        too_small = b.fcmp_ordered("<", rounded, ir.Constant(F64, -9223372036854775808.0))
        v = b.fptosi(b.select(b.or_(too_big, too_small), ir.Constant(F64, 0.0), rounded), I64)
        v = b.select(too_big, c64(0x7FFFFFFFFFFFFFFF), v)
        b.ret(b.select(too_small, c64(-0x8000000000000000), v))

    return _fn(mb, "stapy_fp_to_long", I64, [I64, I64], body)


def _fp32_to_fp64(mb):
    """f32_to_f64 of the low 32 bits: a NaN keeps its sign and payload and becomes quiet."""
    def body(b, f):
        (x,) = f.args
        u = b.trunc(x, I32)
        nan = b.icmp_unsigned(">", b.and_(u, c32(0x7FFFFFFF)), c32(0x7F800000))
        wide = b.zext(u, I64)
        payload = b.or_(b.or_(b.shl(b.lshr(wide, c64(31)), c64(63)), c64(DEFAULT_NAN)),
                        b.shl(b.and_(wide, c64(0x7FFFFF)), c64(29)))
        ext = _bits(b, b.fpext(b.bitcast(u, F32), F64))
        b.ret(b.select(nan, payload, ext))

    return _fn(mb, "stapy_fp32_to_fp64", I64, [I64], body)


def _loop(b, f, name):
    """(head, body, done) blocks of a loop; the caller branches to head."""
    return (f.append_basic_block(f"{name}.head"), f.append_basic_block(f"{name}.body"),
            f.append_basic_block(f"{name}.done"))


def _to_str(mb):
    """f64_to_str(result, MAXSTRINGLEN, a, precision) [softfloat.c]: Infinity/-Infinity/NaN; else
    sign, the integer part (scaled below 1e18 by tens, counted in e10), `precision` fraction digits cut
    one at a time and the last one rounded up on the next digit >= 5 (a 9 becomes "10", as in stap),
    then "e<e10>" when it scaled.  Output past MAXSTRINGLEN-1 is cut, as strlcat does."""
    size = c64(mb.maxstringlen)

    def body(b, f):
        dst, x, prec64 = f.args
        n = b.alloca(I64, name="n")
        b.store(c64(0), n)

        def lit(text: bytes):
            v = b.call(declare_helper(mb, "stp_fmt_lit"), [dst, b.load(n), size, mb_str(text), c64(len(text))])
            b.store(v, n)

        def num(v):
            r = b.call(declare_helper(mb, "stp_fmt_num"), [dst, b.load(n), size, v, c32(0), c64(-1), c64(-1), c32(10)])
            b.store(r, n)

        def mb_str(text):
            return mb.const_bytes(text).bitcast(PTR)

        def finish():
            b.call(declare_helper(mb, "stp_fmt_finish"), [dst, b.load(n), size])
            b.ret_void()

        prec = b.sext(b.trunc(prec64, I32), I64)  # the C parameter is an int
        special, normal = f.append_basic_block("special"), f.append_basic_block("normal")
        b.cbranch(b.icmp_unsigned("==", b.and_(x, c64(EXP_ALL)), c64(EXP_ALL)), special, normal)
        b.position_at_end(special)
        inf, nan = f.append_basic_block("inf"), f.append_basic_block("nan")
        b.cbranch(_is_nan(b, x), nan, inf)
        b.position_at_end(nan)
        lit(b"NaN")
        finish()
        b.position_at_end(inf)
        neg, pos = f.append_basic_block("neginf"), f.append_basic_block("posinf")
        b.cbranch(b.icmp_signed("<", x, c64(0)), neg, pos)
        b.position_at_end(neg)
        lit(b"-Infinity")
        finish()
        b.position_at_end(pos)
        lit(b"Infinity")
        finish()

        b.position_at_end(normal)
        minus, unsigned = f.append_basic_block("minus"), f.append_basic_block("unsigned")
        b.cbranch(b.icmp_signed("<", x, c64(0)), minus, unsigned)
        b.position_at_end(minus)
        lit(b"-")
        b.branch(unsigned)
        b.position_at_end(unsigned)
        pos_a = b.alloca(F64, name="posA")
        e10 = b.alloca(I64, name="e10")
        b.store(_d(b, b.and_(x, c64(ABS))), pos_a)
        b.store(c64(0), e10)
        ten = ir.Constant(F64, 10.0)
        head, lbody, done = _loop(b, f, "scale")
        b.branch(head)
        b.position_at_end(head)
        b.cbranch(b.fcmp_ordered("<=", ir.Constant(F64, 1e18), b.load(pos_a)), lbody, done)
        b.position_at_end(lbody)
        b.store(b.fdiv(b.load(pos_a), ten), pos_a)
        b.store(b.add(b.load(e10), c64(1)), e10)
        b.branch(head)
        b.position_at_end(done)
        ipart = b.fptosi(b.load(pos_a), I64)  # < 1e18: f64_to_i64(minMag) is the truncation
        frac = b.alloca(F64, name="fpart")
        b.store(b.fsub(b.load(pos_a), b.sitofp(ipart, F64)), frac)
        num(ipart)

        fraction, tail = f.append_basic_block("fraction"), f.append_basic_block("tail")
        b.cbranch(b.icmp_signed(">", prec, c64(0)), fraction, tail)
        b.position_at_end(fraction)
        lit(b".")
        i = b.alloca(I64, name="i")
        b.store(c64(0), i)
        head, lbody, done = _loop(b, f, "digits")
        b.branch(head)
        b.position_at_end(head)
        more = b.icmp_signed("<", b.load(i), b.sub(prec, c64(1)))
        room = b.icmp_signed("<", b.load(n), c64(mb.maxstringlen - 1))  # a full buffer stays as it is
        b.cbranch(b.and_(more, room), lbody, done)
        b.position_at_end(lbody)
        t = b.fmul(b.load(frac), ten)
        digit = b.fptosi(t, I64)
        num(digit)
        b.store(b.fsub(t, b.sitofp(digit, F64)), frac)
        b.store(b.add(b.load(i), c64(1)), i)
        b.branch(head)
        b.position_at_end(done)
        t = b.fmul(b.load(frac), ten)
        last = b.fptosi(t, I64)
        t = b.fmul(b.fsub(t, b.sitofp(last, F64)), ten)
        after = b.fptosi(t, I64)
        num(b.select(b.icmp_signed(">=", after, c64(5)), b.add(last, c64(1)), last))
        b.branch(tail)

        b.position_at_end(tail)
        exp, end = f.append_basic_block("exp"), f.append_basic_block("end")
        b.cbranch(b.icmp_signed("!=", b.load(e10), c64(0)), exp, end)
        b.position_at_end(exp)
        lit(b"e")
        num(b.load(e10))
        b.branch(end)
        b.position_at_end(end)
        finish()

    return _fn(mb, "stapy_fp_to_str", VOID, [PTR, I64, I64], body)


def _from_str(mb):
    """str_to_f64(s) [softfloat.c]: [+-]digits[.digits][(e|E)[+-]digits] read digit by digit
    (value = value*10 + d, power *= 10 per fraction digit, then power scaled by ten per exponent
    unit); anything left over is a NaN.  Returns 1 and stores the bits, or 0 (stap: invalid format).
    The exponent loop stops once power is 0 or infinite, where stap's would go on unchanged."""
    def body(b, f):
        s, out = f.args
        i = b.alloca(I64, name="i")
        value = b.alloca(F64, name="value")
        power = b.alloca(F64, name="power")
        power2 = b.alloca(F64, name="power2")
        ten, one, zero = ir.Constant(F64, 10.0), ir.Constant(F64, 1.0), ir.Constant(F64, 0.0)

        def ch():
            return b.load(b.gep(s, [b.load(i)], source_etype=I8), typ=I8)

        def is_(c, chars):
            r = ir.Constant(I1, 0)
            for x in chars:
                r = b.or_(r, b.icmp_unsigned("==", c, ir.Constant(I8, ord(x))))
            return r

        def digit(c):
            return b.and_(b.icmp_unsigned(">=", c, ir.Constant(I8, 48)), b.icmp_unsigned("<=", c, ir.Constant(I8, 57)))

        def skip_if(chars):
            yes, no = f.append_basic_block("skip"), f.append_basic_block("noskip")
            b.cbranch(is_(ch(), chars), yes, no)
            b.position_at_end(yes)
            b.store(b.add(b.load(i), c64(1)), i)
            b.branch(no)
            b.position_at_end(no)

        def digits(name, slot, also_power):
            head, lbody, done = _loop(b, f, name)
            b.branch(head)
            b.position_at_end(head)
            c = ch()
            b.cbranch(digit(c), lbody, done)
            b.position_at_end(lbody)
            dv = b.sitofp(b.zext(b.sub(c, ir.Constant(I8, 48)), I64), F64)
            b.store(b.fadd(b.fmul(b.load(slot), ten), dv), slot)
            if also_power:
                b.store(b.fmul(b.load(power), ten), power)
            b.store(b.add(b.load(i), c64(1)), i)
            b.branch(head)
            b.position_at_end(done)

        b.store(c64(0), i)
        sign = b.select(is_(ch(), "-"), ir.Constant(F64, -1.0), one)
        skip_if("-+")
        b.store(zero, value)
        digits("int", value, False)
        skip_if(".")
        b.store(one, power)
        digits("frac", value, True)

        expo, end = f.append_basic_block("expo"), f.append_basic_block("end")
        b.cbranch(is_(ch(), "eE"), expo, end)
        b.position_at_end(expo)
        b.store(b.add(b.load(i), c64(1)), i)
        negexp = is_(ch(), "-")
        skip_if("-+")
        b.store(zero, power2)
        digits("exp", power2, False)
        head, lbody, done = _loop(b, f, "scale")
        b.branch(head)
        b.position_at_end(head)
        p = b.load(power)
        finite_nonzero = b.and_(b.fcmp_ordered("!=", p, zero),
                                b.fcmp_ordered("!=", b.call(_intrinsic(mb, "llvm.fabs.f64"), [p]),
                                               ir.Constant(F64, float("inf"))))
        b.cbranch(b.and_(b.fcmp_unordered("!=", b.load(power2), zero), finite_nonzero), lbody, done)
        b.position_at_end(lbody)
        b.store(b.select(negexp, b.fmul(p, ten), b.fdiv(p, ten)), power)
        b.store(b.fsub(b.load(power2), one), power2)
        b.branch(head)
        b.position_at_end(done)
        b.branch(end)

        b.position_at_end(end)
        r = b.fmul(sign, b.fdiv(b.load(value), b.load(power)))
        ok = b.and_(b.icmp_unsigned("==", ch(), ir.Constant(I8, 0)), b.fcmp_ordered("==", r, r))
        b.store(_bits(b, r), out)
        b.ret(b.zext(ok, I32))

    return _fn(mb, "stapy_str_to_fp", I32, [PTR, PTR], body)


# ------------------------------------------------------------------ the tapset functions


def fp32_to_fp64(low, value):
    """The widening stap applies to a 32-bit float target variable (tapsets.cxx)."""
    return low.b.call(_fp32_to_fp64(low.fb.mb), [value])


def _call(low, e, fn):
    return low.b.call(fn, low.args(e))


for _op in ("add", "sub", "mul", "div", "rem"):
    builtin(f"fp_{_op}")(lambda low, e, op=_op: _call(low, e, _binary(low.fb.mb, op)))


@builtin("fp_sqrt")
def _fp_sqrt(low, e):
    return _call(low, e, _sqrt(low.fb.mb))


def _compare(low, e, pred):
    x, y = low.args(e)
    b = low.b
    return b.zext(b.fcmp_ordered(pred, _d(b, x), _d(b, y)), I64)


builtin("fp_eq")(lambda low, e: _compare(low, e, "=="))
builtin("fp_le")(lambda low, e: _compare(low, e, "<="))
builtin("fp_lt")(lambda low, e: _compare(low, e, "<"))


@builtin("fp_to_long")
def _fp_to_long(low, e):
    x, mode, _exact = low.args(e)
    return low.b.call(_to_long(low.fb.mb), [x, mode])


@builtin("long_to_fp")
def _long_to_fp(low, e):
    (x,) = low.args(e)
    return _bits(low.b, low.b.sitofp(x, F64))


@builtin("fp32_to_fp64")
def _fp32(low, e):
    (x,) = low.args(e)
    return fp32_to_fp64(low, x)


@builtin("fp_to_string")
def _fp_to_string(low, e):
    x, prec = low.args(e)
    dst = low.fb.temp_str()
    low.b.call(_to_str(low.fb.mb), [dst, x, prec])
    return dst


@builtin("string_to_fp")
def _string_to_fp(low, e):
    (s,) = low.args(e)
    fb, b = low.fb, low.b
    out = fb.alloca_long("fp")
    ok = b.call(_from_str(fb.mb), [s, out])
    fb.check(b.icmp_signed("==", ok, c32(0)), "error", e.tok, b"invalid format")
    return b.load(out, typ=I64)
