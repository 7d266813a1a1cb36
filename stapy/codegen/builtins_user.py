"""Native bodies of the user-memory tapset functions (uconversions.stp).

Reads go through the engine's guarded accessors (ctx->read_user / read_user_string, see
BuiltinLowering.user_reader); without a tracee every read faults, as in stap's begin probes.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen.builtins import _snprintf, builtin
from stapy.codegen.irbuilder import I64, I8, c32, c64


# ------------------------------------------------------------------ user memory


def _clamp_user_len(low, n):
    """stap's clamp_t(n + 1, 1, MAXSTRINGLEN - 1) - 1: at most MAXSTRINGLEN-2 characters."""
    top = c64(low.fb.mb.maxstringlen - 2)
    n = low.b.select(low.b.icmp_signed(">", n, top), top, n)
    return low.b.select(low.b.icmp_signed("<", n, c64(0)), c64(0), n)


def _user_string_impl(low, e, maxlen_expr=None, default=None, mode="error"):
    """Read a NUL-terminated string of at most `maxlen` (510 by default) bytes."""
    fb = low.fb
    addr = low.expr(e.args[0])
    dst = fb.temp_str()
    n = _clamp_user_len(low, maxlen_expr if maxlen_expr is not None else c64(fb.mb.maxstringlen))
    rc = low.b.call(low.user_reader(string=True), [fb.ctx, addr, dst, low.b.add(n, c64(1))])
    low.b.store(ir.Constant(I8, 0), low.b.gep(dst, [n], source_etype=I8))
    bad, ok = fb.new_block("ustr.fault"), fb.new_block("ustr.ok")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    if default is not None:
        fb.str_copy(dst, default)
        low.b.branch(ok)
    elif mode == "nofault":
        fb.str_empty(dst)
        low.b.branch(ok)
    else:
        low.raise_with("user-read", e.tok, b"user string copy fault %d at 0x%lx [man error::fault]",
                       c32(-14), addr)
    low.b.position_at_end(ok)
    return dst


@builtin("user_string")
def _user_string(low, e):
    if len(e.args) > 1:
        return _user_string_impl(low, e, default=low.expr(e.args[1]))
    return _user_string_impl(low, e)


@builtin("user_string2")
def _user_string2(low, e):
    return _user_string_impl(low, e, default=low.expr(e.args[1]))


@builtin("user_string_n")
def _user_string_n(low, e):
    n = low.expr(e.args[1])
    if len(e.args) > 2:
        return _user_string_impl(low, e, maxlen_expr=n, default=low.expr(e.args[2]))
    return _user_string_impl(low, e, maxlen_expr=n)


@builtin("user_string_nofault")
def _user_string_nofault(low, e):
    return _user_string_impl(low, e, mode="nofault")


def _user_int(low, e, size: int, signed: bool, mode: str):
    fb = low.fb
    addr = low.expr(e.args[0])
    buf = fb.alloca_long("uval")
    low.b.store(c64(0), buf)
    rc = low.b.call(low.user_reader(), [fb.ctx, addr, buf, c64(size)])
    bad, ok = fb.new_block("uint.fault"), fb.new_block("uint.ok")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    if mode == "error":
        low.raise_with("user-read", e.tok, b"read fault [man error::fault] at 0x%lx", addr)
    else:
        low.b.store(c64(0), buf)
        low.b.branch(ok)
    low.b.position_at_end(ok)
    raw = low.b.load(buf, typ=I64)
    if size == 8:
        return raw
    small = low.b.trunc(raw, ir.IntType(size * 8))
    return low.b.sext(small, I64) if signed else low.b.zext(small, I64)


_INTS = {"char": (1, True), "short": (2, True), "ushort": (2, False), "int": (4, True), "uint": (4, False),
         "long": (8, True), "ulong": (8, False), "int8": (1, True), "uint8": (1, False), "int16": (2, True),
         "uint16": (2, False), "int32": (4, True), "uint32": (4, False), "int64": (8, True), "uint64": (8, False)}
for _n, (_sz, _sg) in _INTS.items():
    builtin(f"user_{_n}")(lambda low, e, s=_sz, g=_sg: _user_int(low, e, s, g, "zero"))
    builtin(f"user_{_n}_error")(lambda low, e, s=_sz, g=_sg: _user_int(low, e, s, g, "error"))


# ------------------------------------------------------------------ more user-memory forms


@builtin("user_string_n_warn", "user_string_warn")
def _user_string_warn(low, e):
    fb = low.fb
    addr = low.expr(e.args[0])
    n = _clamp_user_len(low, low.expr(e.args[1]) if len(e.args) > 1 else c64(fb.mb.maxstringlen))
    warn_msg = low.expr(e.args[2]) if len(e.args) > 2 else fb.str_const(b"")
    dst = fb.temp_str()
    rc = low.b.call(low.user_reader(string=True), [fb.ctx, addr, dst, low.b.add(n, c64(1))])
    low.b.store(ir.Constant(I8, 0), low.b.gep(dst, [n], source_etype=I8))
    bad, ok = fb.new_block("ustrw.fault"), fb.new_block("ustrw.ok")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    msg = fb.temp_str()
    low.b.call(_snprintf(fb.mb), [msg, c64(fb.mb.maxstringlen),
                                  fb.str_const(b"user string copy fault %d at 0x%lx [man error::fault]"), c32(-14), addr])
    low.b.call(low.py("stapy_py_warn"), [fb.ctx, msg])
    fb.str_copy(dst, warn_msg)
    low.b.branch(ok)
    low.b.position_at_end(ok)
    return dst


def _user_string_quoted(low, e, with_n: bool):
    fb = low.fb
    addr = low.expr(e.args[0])
    n = _clamp_user_len(low, low.expr(e.args[1]) if with_n else c64(fb.mb.maxstringlen))
    raw = fb.temp_str()
    rc = low.b.call(low.user_reader(string=True), [fb.ctx, addr, raw, low.b.add(n, c64(1))])
    low.b.store(ir.Constant(I8, 0), low.b.gep(raw, [n], source_etype=I8))
    dst = fb.temp_str()
    bad, ok, end = fb.new_block("uq.fault"), fb.new_block("uq.ok"), fb.new_block("uq.end")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    low.b.call(_snprintf(fb.mb), [dst, c64(fb.mb.maxstringlen), fb.str_const(b"0x%lx"), addr])
    low.b.branch(end)
    low.b.position_at_end(ok)
    low.helper("stp_string_quoted", [dst, raw])
    low.b.branch(end)
    low.b.position_at_end(end)
    return dst


builtin("user_string_quoted")(lambda low, e: _user_string_quoted(low, e, False))
builtin("user_string_n_quoted")(lambda low, e: _user_string_quoted(low, e, True))


# ------------------------------------------------------------------ UTF-16/32 strings (answered by the runner)


def _py_str_checked(low, e, name, n):
    fb = low.fb
    dst = fb.temp_str()
    status = low.b.call(low.py("stapy_py_str_status"), [fb.ctx, fb.str_const(name.encode()), n, fb.str_const(b""), dst])
    bad, ok = fb.new_block(f"{name}.fail"), fb.new_block(f"{name}.ok")
    low.b.cbranch(low.b.icmp_signed("!=", status, c64(0)), bad, ok)
    low.b.position_at_end(bad)
    fb.set_error(fb.new_site("user-read", e.tok), None)
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(ok)
    return dst


builtin("user_string_utf16")(lambda low, e: _py_str_checked(low, e, "user_string_utf16", low.expr(e.args[0])))
builtin("user_string_utf32")(lambda low, e: _py_str_checked(low, e, "user_string_utf32", low.expr(e.args[0])))


# ------------------------------------------------------------------ user_buffer_quoted


@builtin("user_buffer_quoted")
def _user_buffer_quoted(low, e):
    """uconversions.stp: outlen = clamp_t(int, outlen, 0, MAXSTRINGLEN), 0 gives ""; then _stp_text_str
    over inlen bytes (<= 0 or too big: MAXSTRINGLEN-1) in buffer mode (NULs are escaped, not the end);
    a fault gives snprintf(outlen, "0x%lx", addr).  One guarded read takes the bytes stap can touch:
    every byte it consumes costs at least one character of the (at most outlen) room, and a
    decode looks at most 4 bytes ahead, so min(inlen, outlen + 8) bytes."""
    fb, b = low.fb, low.b
    m = fb.mb.maxstringlen
    addr = low.expr(e.args[0])
    inlen = low.expr(e.args[1])
    outlen = low.expr(e.args[2])
    out32 = b.sext(b.trunc(outlen, ir.IntType(32)), I64)
    out_c = b.select(b.icmp_signed("<", out32, c64(0)), c64(0), b.select(b.icmp_signed(">", out32, c64(m)), c64(m), out32))
    in_bad = b.or_(b.icmp_signed("<=", inlen, c64(0)), b.icmp_signed(">", inlen, c64(m - 1)))
    in_c = b.select(in_bad, c64(m - 1), inlen)
    dst = fb.temp_str()
    fb.str_empty(dst)
    raw = fb.temp_str()
    go, read, fault, ok, end = (fb.new_block(n) for n in ("ubq.go", "ubq.read", "ubq.fault", "ubq.ok", "ubq.end"))
    b.cbranch(b.icmp_signed("==", out_c, c64(0)), end, go)
    b.position_at_end(go)
    b.branch(read)
    b.position_at_end(read)
    want = b.add(out_c, c64(8))
    n_read = b.select(b.icmp_signed("<", want, in_c), want, in_c)
    rc = b.call(low.user_reader(), [fb.ctx, addr, raw, n_read])
    b.cbranch(b.icmp_signed("!=", rc, c32(0)), fault, ok)
    b.position_at_end(fault)
    b.call(_snprintf(fb.mb), [dst, out_c, fb.str_const(b"0x%lx"), addr])
    b.branch(end)
    b.position_at_end(ok)
    low.helper("stp_text_buffer_quoted", [dst, raw, in_c, out_c])
    b.branch(end)
    b.position_at_end(end)
    return dst
