"""printf/sprintf conversions, one helper per conversion (runtime/vsprintf.c, translate.cxx's compiled printf).

Codegen splits the literal format at compile time and calls one stp_fmt_*
per piece.  Each appends to buf at `len`, never writes at or past `size`,
and returns the new length (at most `size`).  Like stap's compiled printf,
a width or precision is first cut to the room left (clamp to [0, size-len]),
and -1 means "not given".  The rules of number() differ from C's printf and
are reproduced here: one sign/space, `#` always prefixes, precision is a
minimum digit count, zero-padding goes after the sign and prefix.
"""
from __future__ import annotations

from stapy.runtime.native.helpers import FMT_LARGE, FMT_LEFT, FMT_PLUS, FMT_SIGN, FMT_SPACE, FMT_SPECIAL, FMT_ZEROPAD
from stapy.runtime.native.helpers import MEMDUMP_MAX
from llvmlite import ir

from stapy.runtime.native.irkit import I8, I32, I64, PTR, Fn, c32, c64


class _Sink:
    """buf/len/size of the function being built: put() writes one byte if it fits."""

    def __init__(self, f: Fn):
        self.f = f
        self.len = f.var(I64, f["len"])

    def room(self):
        return self.f.lt(self.f.get(self.len), self.f["size"])

    def put(self, ch):
        f = self.f
        with f.if_(self.room()):
            f.st8(f["buf"], f.get(self.len), ch)
        f.inc(self.len)

    def clamp(self, v):
        """stap's clamp_t(int, v, 0, end - str + 1); -1 (absent) stays -1."""
        f = self.f
        v32 = f.b.sext(f.b.trunc(v, I32), I64)
        left = f.b.sub(f["size"], f.min(f.get(self.len), f["size"]))
        clamped = f.max(f.min(v32, left), c64(0))
        return f.select(f.eq(v, -1), c64(-1), clamped)

    def result(self):
        return self.f.min(self.f.get(self.len), self.f["size"])


def flag(f, flags, bit):
    """flags & bit, as an i1."""
    return f.ne(f.b.and_(flags, c32(bit)), c32(0))


def build(lib):
    digits_lo = lib.table("stp.digits", b"0123456789abcdefghijklmnopqrstuvwxyz")
    digits_hi = lib.table("stp.DIGITS", b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    f = Fn(lib, "stp_fmt_lit", "i64", ["ptr", "i64", "i64", "ptr", "i64"], ["buf", "len", "size", "text", "n"])
    room = f.b.sub(f["size"], f.min(f["len"], f["size"]))
    n = f.max(f.min(f["n"], room), c64(0))
    f.memcpy(f.at(f["buf"], f["len"]), f["text"], n)
    f.finish(f.b.add(f["len"], n))

    # ---- number()
    f = Fn(lib, "stp_fmt_num", "i64", ["ptr", "i64", "i64", "i64", "i32", "i64", "i64", "i32"],
           ["buf", "len", "size", "value", "flags", "width", "prec", "base"])
    b = f.b
    s = _Sink(f)
    flags = f.var(I32, f["flags"])
    with f.if_(flag(f, f.get(flags), FMT_LEFT)):
        f.set(flags, b.and_(f.get(flags), c32(~FMT_ZEROPAD)))
    fl = f.get(flags)
    base = b.zext(f["base"], I64)
    width = f.var(I64, s.clamp(f["width"]))
    prec = f.var(I64, s.clamp(f["prec"]))
    num = f.var(I64, f["value"])
    sign = f.var(I64, 0)
    with f.if_(flag(f, fl, FMT_SIGN)):
        with f.if_else(f.lt(f.get(num), 0)) as (neg, nonneg):
            with neg:
                f.set(sign, c64(ord("-")))
                f.set(num, b.neg(f.get(num)))
            with nonneg:
                with f.if_else(flag(f, fl, FMT_PLUS)) as (plus, other):
                    with plus:
                        f.set(sign, c64(ord("+")))
                    with other:
                        with f.if_(flag(f, fl, FMT_SPACE)):
                            f.set(sign, c64(ord(" ")))
        with f.if_(f.ne(f.get(sign), 0)):
            f.set(width, b.sub(f.get(width), c64(1)))
    special = flag(f, fl, FMT_SPECIAL)
    with f.if_(special):
        with f.if_(f.eq(base, 16)):
            f.set(width, b.sub(f.get(width), c64(2)))
        with f.if_(f.eq(base, 8)):
            f.set(width, b.sub(f.get(width), c64(1)))
    digits = f.var(PTR, digits_lo)
    with f.if_(flag(f, fl, FMT_LARGE)):
        f.set(digits, digits_hi)
    tmp = f.buffer(72)
    i = f.var(I64, 0)
    with f.while_():
        d = b.urem(f.get(num), base)
        f.st8(tmp, f.get(i), f.ld8(f.get(digits), d))
        f.inc(i)
        f.set(num, b.udiv(f.get(num), base))
        f.break_if(f.eq(f.get(num), 0))
    with f.if_(f.gt(f.get(i), f.get(prec))):
        f.set(prec, f.get(i))
    f.set(width, b.sub(f.get(width), f.get(prec)))
    pad_char = f.select(flag(f, fl, FMT_ZEROPAD), c64(ord("0")), c64(ord(" ")))

    def pad(ch):
        with f.while_(lambda: f.gt(f.get(width), 0)):
            s.put(ch)
            f.set(width, b.sub(f.get(width), c64(1)))

    with f.if_(f.eq(b.and_(fl, c32(FMT_ZEROPAD | FMT_LEFT)), c32(0))):
        pad(c64(ord(" ")))
    with f.if_(f.ne(f.get(sign), 0)):
        s.put(f.get(sign))
    with f.if_(special):
        with f.if_(f.eq(base, 8)):
            s.put(ord("0"))
        with f.if_(f.eq(base, 16)):
            s.put(ord("0"))
            s.put(f.ld8(f.get(digits), 33))
    with f.if_(f.eq(b.and_(fl, c32(FMT_LEFT)), c32(0))):
        pad(pad_char)
    with f.while_(lambda: f.lt(f.get(i), f.get(prec))):
        s.put(ord("0"))
        f.set(prec, b.sub(f.get(prec), c64(1)))
    with f.while_(lambda: f.gt(f.get(i), 0)):
        f.set(i, b.sub(f.get(i), c64(1)))
        s.put(f.ld8(tmp, f.get(i)))
    pad(c64(ord(" ")))
    f.finish(s.result())

    # ---- %c (_stp_vsprint_char)
    f = Fn(lib, "stp_fmt_char", "i64", ["ptr", "i64", "i64", "i64", "i32", "i64"],
           ["buf", "len", "size", "value", "flags", "width"])
    b = f.b
    s = _Sink(f)
    c = b.and_(f["value"], c64(0xFF))
    width = f.var(I64, s.clamp(f["width"]))
    letter = f.var(I64, 0)
    for code, ch in {7: "a", 8: "b", 12: "f", 10: "n", 13: "r", 9: "t", 11: "v", 39: "'", 92: "\\"}.items():
        with f.if_(f.eq(c, code)):
            f.set(letter, c64(ord(ch)))
    printable = b.and_(f.ge(c, 0x20), f.le(c, 0x7E))
    quote = b.and_(flag(f, f["flags"], FMT_SPECIAL), b.or_(b.not_(printable), f.ne(f.get(letter), 0)))
    size = f.select(quote, f.select(f.ne(f.get(letter), 0), c64(2), c64(4)), c64(1))

    def cpad():
        with f.while_():
            go = f.gt(f.get(width), size)
            f.set(width, b.sub(f.get(width), c64(1)))
            f.break_if(b.not_(go))
            s.put(ord(" "))

    with f.if_(f.eq(b.and_(f["flags"], c32(FMT_LEFT)), c32(0))):
        cpad()
    with f.if_else(quote) as (q, plain):
        with plain:
            s.put(c)
        with q:
            s.put(ord("\\"))
            with f.if_else(f.ne(f.get(letter), 0)) as (lt, oc):
                with lt:
                    s.put(f.get(letter))
                with oc:
                    s.put(b.add(b.and_(b.lshr(c, c64(6)), c64(3)), c64(48)))
                    s.put(b.add(b.and_(b.lshr(c, c64(3)), c64(7)), c64(48)))
                    s.put(b.add(b.and_(c, c64(7)), c64(48)))
    cpad()
    f.finish(s.result())

    # ---- %s, %m, %M (_stp_vsprint_memory); the memory forms read through a callback
    for name in ("stp_fmt_str", "stp_fmt_mem"):
        if name == "stp_fmt_str":
            f = Fn(lib, name, "i64", ["ptr", "i64", "i64", "ptr", "i32", "i64", "i64"],
                   ["buf", "len", "size", "s", "flags", "width", "prec"])
        else:
            f = Fn(lib, name, "i64", ["ptr", "ptr", "i64", "i64", "i64", "i32", "i64", "i64", "i32", "ptr"],
                   ["ctx", "buf", "len", "size", "addr", "flags", "width", "prec", "hex", "readfn"])
        b = f.b
        if name == "stp_fmt_mem":
            with f.if_(f.gt(f["prec"], MEMDUMP_MAX)):
                f.call("stp_i_error_num", f["ctx"], f.cstr(""), f["prec"], 10, f.cstr(" is too many bytes for a memory dump"))
                f.ret(c64(-1))
        s = _Sink(f)
        width = f.var(I64, s.clamp(f["width"]))
        prec = s.clamp(f["prec"])
        left = flag(f, f["flags"], FMT_LEFT)
        n = f.var(I64)
        if name == "stp_fmt_str":
            f.set(n, f.call("stp_i_strnlen", f["s"], f.select(f.lt(prec, 0), c64(8192), prec)))
            hexform = None
            actlen = f.get(n)
        else:
            f.set(n, f.select(f.gt(prec, 0), prec, c64(1)))
            hexform = f.ne(f["hex"], c32(0))
            actlen = f.select(hexform, b.mul(f.get(n), c64(2)), f.get(n))

        def spad(limit):
            with f.while_():
                go = f.lt(limit, f.get(width))
                f.set(width, b.sub(f.get(width), c64(1)))
                f.break_if(b.not_(b.and_(go, s.room())))
                s.put(ord(" "))

        with f.if_(b.not_(left)):
            spad(actlen)
        k = f.var(I64, 0)
        if name == "stp_fmt_str":
            with f.while_(lambda: b.and_(f.lt(f.get(k), f.get(n)), s.room())):
                s.put(f.ld8(f["s"], f.get(k)))
                f.inc(k)
        else:
            byte = f.var(I8)
            hexd = lib.cstr("0123456789abcdef")

            def read_one():
                a = b.add(f["addr"], f.get(k))
                rc = _call_read(f, a, byte)
                with f.if_(f.ne(rc, c32(0))):
                    f.call("stp_i_error_num", f["ctx"], f.cstr("read fault [man error::fault] at 0x"), a, 16, f.cstr(""))
                    f.ret(c64(-1))
                return b.zext(f.get(byte), I64)

            with f.if_else(hexform) as (hx, raw):
                with hx:
                    def room_for_two():  # stap: `str < end`
                        return f.lt(f.get(s.len), b.sub(f["size"], c64(1)))

                    with f.while_(lambda: b.and_(f.lt(f.get(k), f.get(n)), room_for_two())):
                        v = read_one()
                        s.put(f.ld8(hexd, b.lshr(v, c64(4))))
                        s.put(f.ld8(hexd, b.and_(v, c64(15))))
                        f.inc(k)
                    f.set(n, b.mul(f.get(n), c64(2)))
                with raw:
                    with f.while_(lambda: b.and_(f.lt(f.get(k), f.get(n)), s.room())):
                        s.put(read_one())
                        f.inc(k)
        spad(f.get(n))
        with f.if_(b.and_(flag(f, f["flags"], FMT_ZEROPAD), s.room())):
            s.put(0)
        f.finish(s.result())

    # ---- %b (_stp_vsprint_binary): raw native-endian bytes
    f = Fn(lib, "stp_fmt_bin", "i64", ["ptr", "i64", "i64", "i64", "i32", "i64", "i64"],
           ["buf", "len", "size", "value", "flags", "width", "prec"])
    b = f.b
    s = _Sink(f)

    def check(v):
        ok = b.or_(b.or_(f.eq(v, 1), f.eq(v, 2)), b.or_(f.eq(v, 4), f.eq(v, 8)))
        return f.select(ok, v, c64(-1))

    width = f.var(I64, s.clamp(f["width"]))
    p = f.var(I64, check(s.clamp(f["prec"])))
    with f.if_else(f.eq(f.get(width), -1)) as (nowidth, haswidth):
        with nowidth:
            with f.if_else(f.eq(f.get(p), -1)) as (neither, ponly):
                with neither:
                    f.set(width, c64(8))
                    f.set(p, c64(8))
                with ponly:
                    f.set(width, f.get(p))
        with haswidth:
            with f.if_(f.eq(f.get(p), -1)):
                f.set(p, check(f.get(width)))
                with f.if_(f.eq(f.get(p), -1)):
                    f.set(p, c64(8))
    with f.if_(f.eq(b.and_(f["flags"], c32(FMT_LEFT)), c32(0))):
        with f.while_():
            go = f.lt(f.get(p), f.get(width))
            f.set(width, b.sub(f.get(width), c64(1)))
            f.break_if(b.not_(b.and_(go, s.room())))
            s.put(0)
    with f.if_(f.le(b.add(f.get(s.len), f.get(p)), f["size"])):
        j = f.var(I64, 0)
        with f.while_(lambda: f.lt(f.get(j), f.get(p))):
            s.put(b.lshr(f["value"], b.mul(f.get(j), c64(8))))
            f.inc(j)
    with f.while_():
        f.break_if(b.not_(b.and_(f.ge(f.get(p), 0), f.ge(f.get(width), 0))))
        go = f.lt(f.get(p), f.get(width))
        f.set(width, b.sub(f.get(width), c64(1)))
        f.break_if(b.not_(b.and_(go, s.room())))
        s.put(0)
    f.finish(s.result())

    f = Fn(lib, "stp_fmt_star", "i64", ["i64"], ["v"])
    v32 = f.b.sext(f.b.trunc(f["v"], I32), I64)
    f.finish(f.max(v32, c64(0)))

    f = Fn(lib, "stp_str_from_long", "void", ["ptr", "i64"], ["dst", "v"])
    m = lib.limits.maxstringlen
    n = f.call("stp_fmt_num", f["dst"], c64(0), c64(m), f["v"], FMT_SIGN, c64(-1), c64(-1), 10)
    f.call("stp_fmt_finish", f["dst"], n, c64(m))
    f.finish()

    f = Fn(lib, "stp_fmt_finish", "i64", ["ptr", "i64", "i64"], ["buf", "len", "size"])
    end = f.select(f.lt(f["len"], f["size"]), f["len"], f.b.sub(f["size"], c64(1)))
    with f.if_(f.ge(end, 0)):
        f.st8(f["buf"], end, 0)
    f.finish(f.max(end, c64(0)))


def _call_read(f, addr, dst):
    """Indirect call of readfn: i32 (ptr ctx, i64 addr, ptr dst, i64 n); opaque pointers carry no type."""
    fnty = ir.FunctionType(I32, [PTR, I64, PTR, I64])
    fnptr = f.b.inttoptr(f.b.ptrtoint(f["readfn"], I64), fnty.as_pointer())
    return f.b.call(fnptr, [f["ctx"], addr, f.opaque(dst), c64(1)])
