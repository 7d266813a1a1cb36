"""Native bodies of the process-information and conversion tapsets (task_time.stp, proc_mem.stp,
task.stp, usymbols.stp, signal.stp's masks and flags, tzinfo.stp, print_binary.stp).

Most of those tapsets ask the Python
runner (stapy.runtime.procinfo, through the stapy_py_str/_py_long/_py_str_status slots, under
service names "proc:NAME") for a /proc fact: the natives below where stap's function is embedded C
(so -p2 lists what stap lists), and `_stapy_proc_long/_string(service, n, s)` for the tapsets'
stap-language code.  These are rare, non-hot calls.  The rest are small inline natives.
"""
from __future__ import annotations

import time

from llvmlite import ir

from stapy.codegen.builtins import BUILTINS, _snprintf, builtin
from stapy.codegen.irbuilder import I32, I64, PTR, c32, c64


def _proc_name(low, e):
    from stapy.parser import ast

    arg = e.args[0]
    if isinstance(arg, ast.StringLit):
        return low.fb.str_const(("proc:" + arg.value).encode())
    raise NotImplementedError("_stapy_proc_* takes a literal service name")


@builtin("_stapy_proc_long")
def _proc_long(low, e):
    return low.b.call(low.py("stapy_py_long"), [low.fb.ctx, _proc_name(low, e), low.expr(e.args[1]),
                                                low.expr(e.args[2])])


@builtin("_stapy_proc_string")
def _proc_string(low, e):
    dst = low.fb.temp_str()
    low.b.call(low.py("stapy_py_str"), [low.fb.ctx, _proc_name(low, e), low.expr(e.args[1]), low.expr(e.args[2]),
                                        dst])
    return dst


# ------------------------------------------------------------------ small inline natives


@builtin("mem_page_size")
def _mem_page_size(low, e):
    return low.b.sext(low.b.call(low.extern("getpagesize", I32, []), []), I64)


@builtin("stp_pid")
def _stp_pid(low, e):
    """stapio's pid: stapy's own."""
    return low.b.sext(low.b.call(low.extern("getpid", I32, []), []), I64)


@builtin("registers_valid")
def _registers_valid(low, e):
    regs = low.fb.ctx_load("regs")
    return low.b.zext(low.b.icmp_unsigned("!=", low.b.ptrtoint(regs, I64), c64(0)), I64)


@builtin("tz_gmtoff")
def _tz_gmtoff(low, e):
    """staprun sends -tm_gmtoff of localtime() at startup (seconds west of UTC)."""
    return c64(-time.localtime().tm_gmtoff)


@builtin("tz_name")
def _tz_name(low, e):
    return low.fb.str_const((time.localtime().tm_zone or "").encode())


def _strcat(low, dst, text: bytes):
    low.b.call(low.extern("strcat", PTR, [PTR, PTR]), [dst, low.fb.str_const(text)])


def _drop_last_char(low, dst):
    """signal.c's `if (len) str[len - 1] = '\\0'`: the trailing separator goes."""
    b = low.b
    n = b.call(low.extern("strlen", I64, [PTR]), [dst])
    at = b.select(b.icmp_signed(">", n, c64(0)), b.sub(n, c64(1)), c64(0))
    b.store(ir.Constant(ir.IntType(8), 0), b.gep(dst, [at], source_etype=ir.IntType(8)))


# sa_flags_str's flags, in signal.stp's order
SA_FLAGS = ((0x00000001, b"NOCLDSTOP|"), (0x00000002, b"NOCLDWAIT|"), (0x00000004, b"SIGINFO|"),
            (0x08000000, b"ONSTACK|"), (0x10000000, b"RESTART|"), (0x40000000, b"NODEFER|"),
            (0x80000000, b"RESETHAND|"), (0x04000000, b"RESTORER|"))


@builtin("sa_flags_str")
def _sa_flags_str(low, e):
    fb, b = low.fb, low.b
    flags = low.expr(e.args[0])
    dst = fb.temp_str()
    fb.str_empty(dst)
    for bit, text in SA_FLAGS:
        yes, done = fb.new_block("saf.yes"), fb.new_block("saf.next")
        b.cbranch(b.icmp_unsigned("!=", b.and_(flags, c64(bit)), c64(0)), yes, done)
        b.position_at_end(yes)
        _strcat(low, dst, text)
        b.branch(done)
        b.position_at_end(done)
    _drop_last_char(low, dst)
    return dst


@builtin("sigset_mask_str")
def _sigset_mask_str(low, e):
    """"%u," for each set bit i-1 of the mask, i = 1..64 (_NSIG), then the last comma dropped."""
    fb, b = low.fb, low.b
    mask = low.expr(e.args[0])
    dst = fb.temp_str()
    fb.str_empty(dst)
    tmp = fb.temp_str()
    i = fb.alloca_long("sig")
    b.store(c64(1), i)
    head, body, yes, step, done = (fb.new_block(n) for n in ("ssm.head", "ssm.body", "ssm.yes", "ssm.step", "ssm.done"))
    b.branch(head)
    b.position_at_end(head)
    iv = b.load(i, typ=I64)
    b.cbranch(b.icmp_signed("<", iv, c64(65)), body, done)
    b.position_at_end(body)
    bit = b.and_(b.lshr(mask, b.sub(iv, c64(1))), c64(1))
    b.cbranch(b.icmp_unsigned("!=", bit, c64(0)), yes, step)
    b.position_at_end(yes)
    b.call(_snprintf(fb.mb), [tmp, c64(8), fb.str_const(b"%u,"), b.trunc(iv, I32)])
    b.call(low.extern("strcat", PTR, [PTR, PTR]), [dst, tmp])
    b.branch(step)
    b.position_at_end(step)
    b.store(b.add(iv, c64(1)), i)
    b.branch(head)
    b.position_at_end(done)
    _drop_last_char(low, dst)
    return dst


@builtin("stp_print_binary")
def _stp_print_binary(low, e):
    """print.c's _stp_print_binary: n (at most the 4 given) raw 64-bit values into the output."""
    fb = low.fb
    n, *vals = low.args(e)
    buf = fb.alloca_slots(4, "bin")
    for i, v in enumerate(vals):
        low.b.store(v, low.b.gep(buf, [c64(i)], source_etype=I64))
    count = low.b.select(low.b.icmp_signed("<", n, c64(0)), c64(0),
                         low.b.select(low.b.icmp_signed(">", n, c64(4)), c64(4), n))
    low.helper("stp_out_write", [low.globals.out, buf, low.b.mul(count, c64(8))])
    return None


@builtin("user_buffer_quoted_error")
def _user_buffer_quoted_error(low, e):
    """uconversions.stp: as user_buffer_quoted (builtins_user), but outlen clamped to 0 and a fault are
    errors "Unable to access user space data at 0x%lx"."""
    fb, b = low.fb, low.b
    m = fb.mb.maxstringlen
    addr, inlen, outlen = low.args(e)
    out32 = b.sext(b.trunc(outlen, I32), I64)
    out_c = b.select(b.icmp_signed("<", out32, c64(0)), c64(0), b.select(b.icmp_signed(">", out32, c64(m)), c64(m), out32))
    in_bad = b.or_(b.icmp_signed("<=", inlen, c64(0)), b.icmp_signed(">", inlen, c64(m - 1)))
    in_c = b.select(in_bad, c64(m - 1), inlen)
    raw, dst = fb.temp_str(), fb.temp_str()
    read, fault, ok = fb.new_block("ubqe.read"), fb.new_block("ubqe.fault"), fb.new_block("ubqe.ok")
    b.cbranch(b.icmp_signed("==", out_c, c64(0)), fault, read)
    b.position_at_end(read)
    want = b.add(out_c, c64(8))
    rc = b.call(low.user_reader(), [fb.ctx, addr, raw, b.select(b.icmp_signed("<", want, in_c), want, in_c)])
    b.cbranch(b.icmp_signed("!=", rc, c32(0)), fault, ok)
    b.position_at_end(fault)
    low.raise_with("error", e.tok, b"Unable to access user space data at 0x%lx", addr)
    b.position_at_end(ok)
    low.helper("stp_text_buffer_quoted", [dst, raw, in_c, out_c])
    return dst


# ------------------------------------------------------------------ the task tapsets' natives
# (stap writes these in embedded C or over task_struct; here each asks stapy.runtime.procinfo)


def _pick(b, cond, x, y):
    """select() of two pointers built with different pointer types (string constants are typed)."""
    return b.inttoptr(b.select(cond, b.ptrtoint(x, I64), b.ptrtoint(y, I64)), PTR)


def _service(low, name: str):
    return low.fb.str_const(("proc:" + name).encode())


def _ask_long(low, name: str, n, s: bytes = b""):
    return low.b.call(low.py("stapy_py_long"), [low.fb.ctx, _service(low, name), n, low.fb.str_const(s)])


def _ask_string(low, name: str, n, s=None):
    dst = low.fb.temp_str()
    low.b.call(low.py("stapy_py_str"), [low.fb.ctx, _service(low, name), n,
                                        s if s is not None else low.fb.str_const(b""), dst])
    return dst


def _given_task(low, e, name: str, s: bytes = b""):
    """The 1-argument forms: pid2task(n) finds no task for n <= 0 (stap's 0)."""
    n = low.expr(e.args[0])
    got = _ask_long(low, name, n, s)
    return low.b.select(low.b.icmp_signed(">", n, c64(0)), got, c64(0))


def _task_fact(name: str, s: bytes = b""):
    def lower(low, e):
        if e.args:
            return _given_task(low, e, name, s)
        return _ask_long(low, name, c64(-1), s)
    return lower


for _fn, _service_name, _what in (("task_utime", "utime", b""), ("task_stime", "stime", b""),
                                  ("task_start_time", "start_time", b""),
                                  ("proc_mem_size", "mem", b"size"), ("proc_mem_rss", "mem", b"rss"),
                                  ("proc_mem_shr", "mem", b"shr"), ("proc_mem_txt", "mem", b"txt"),
                                  ("proc_mem_data", "mem", b"data")):
    builtin(_fn)(_task_fact(_service_name, _what))


# cputime is nanoseconds (the kernel's task->utime unit)
builtin("cputime_to_msecs")(lambda low, e: low.b.sdiv(low.expr(e.args[0]), c64(1_000_000)))
builtin("cputime_to_usecs")(lambda low, e: low.b.sdiv(low.expr(e.args[0]), c64(1_000)))


@builtin("is_myproc")
def _is_myproc(low, e):
    return _ask_long(low, "is_myproc", c64(-1))


@builtin("pid2execname")
def _pid2execname(low, e):
    n = low.expr(e.args[0])
    got = _ask_string(low, "pid2execname", n)
    return _pick(low.b, low.b.icmp_signed(">", n, c64(0)), got, low.fb.str_const(b""))


# stapy reads ids in its own namespaces, which are stap's default target namespaces: the ns_* ids
# are the plain ones (lowered by the same code, so they answer alike)
for _plain in ("pid", "tid", "ppid", "pgrp", "sid", "uid", "euid", "gid", "egid"):
    builtin(f"ns_{_plain}")(lambda low, e, p=_plain: BUILTINS[p](low, e))


def _checked(low, e, name: str):
    fb = low.fb
    dst = fb.temp_str()
    status = low.b.call(low.py("stapy_py_str_status"), [fb.ctx, _service(low, name), low.expr(e.args[0]),
                                                        fb.str_const(b""), dst])
    bad, ok = fb.new_block(f"{name}.fail"), fb.new_block(f"{name}.ok")
    low.b.cbranch(low.b.icmp_signed("!=", status, c64(0)), bad, ok)
    low.b.position_at_end(bad)
    fb.set_error(fb.new_site("error", e.tok), None)
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(ok)
    return dst


@builtin("umodaddr")
def _umodaddr(low, e):
    return low.helper("stp_strtol", [_checked(low, e, "umodaddr"), c64(10)])


@builtin("umodbuildid")
def _umodbuildid(low, e):
    return _checked(low, e, "umodbuildid")


def _file_line_split(low, e):
    """usymfileline(addr) ("FILE:LINE", or the hex address when the line table has no row) and the
    position of its ':' before a run of digits (a null pointer when there is none)."""
    from stapy.codegen.builtins_context import _py_str  # a sibling builtins module

    b = low.b
    fl = _py_str(low, e, "usymfileline", n=low.expr(e.args[0]))
    colon = b.call(low.extern("strrchr", PTR, [PTR, I32]), [fl, c32(ord(":"))])
    has = b.icmp_unsigned("!=", b.ptrtoint(colon, I64), c64(0))
    digits_at = _pick(b, has, b.gep(colon, [c64(1)], source_etype=ir.IntType(8)), low.fb.str_const(b""))
    ndig = b.call(low.extern("strspn", I64, [PTR, PTR]), [digits_at, low.fb.str_const(b"0123456789")])
    nall = b.call(low.extern("strlen", I64, [PTR]), [digits_at])
    ok = b.and_(has, b.and_(b.icmp_signed(">", ndig, c64(0)), b.icmp_signed("==", ndig, nall)))
    return fl, colon, digits_at, ok


@builtin("usymfile")
def _usymfile(low, e):
    fl, colon, _, ok = _file_line_split(low, e)
    fb, b = low.fb, low.b
    cut, done = fb.new_block("usymfile.cut"), fb.new_block("usymfile.done")
    b.cbranch(ok, cut, done)
    b.position_at_end(cut)
    b.store(ir.Constant(ir.IntType(8), 0), colon)
    b.branch(done)
    b.position_at_end(done)
    return fl


@builtin("usymline")
def _usymline(low, e):
    fl, _, digits_at, ok = _file_line_split(low, e)
    dst = low.fb.temp_str()
    low.fb.str_copy(dst, _pick(low.b, ok, digits_at, fl))
    return dst


@builtin("returnstr")
def _returnstr(low, e):
    """errno.stp: the return register as "%ld (ENAME)" for an errno, else "%ld"/"0x%lx"/"%#lo" by format;
    "N/A" without registers."""
    from stapy.codegen.abi import REG_INDEX
    from stapy.codegen.builtins_context import _errno_table

    fb, b = low.fb, low.b
    fmt = low.expr(e.args[0])
    dst = fb.temp_str()
    regs = fb.ctx_load("regs")
    none, have, named, other, done = (fb.new_block(n) for n in ("rs.none", "rs.have", "rs.named", "rs.other", "rs.done"))
    b.cbranch(b.icmp_unsigned("==", b.ptrtoint(regs, I64), c64(0)), none, have)
    b.position_at_end(none)
    fb.str_copy(dst, fb.str_const(b"N/A"))
    b.branch(done)
    b.position_at_end(have)
    ret = b.load(b.gep(regs, [c64(REG_INDEX["rax"])], source_etype=I64), typ=I64)
    table = _errno_table(low)
    size = table.value_type.count
    in_range = b.and_(b.icmp_signed("<", ret, c64(0)), b.icmp_signed(">", ret, c64(-size)))
    idx = b.select(in_range, b.sub(c64(0), ret), c64(0))
    name = b.load(b.gep(table, [c32(0), idx], source_etype=table.value_type), typ=PTR)
    has_name = b.and_(in_range, b.icmp_unsigned("!=", b.load(name, typ=ir.IntType(8)), ir.Constant(ir.IntType(8), 0)))
    b.cbranch(has_name, named, other)
    b.position_at_end(named)
    b.call(_snprintf(fb.mb), [dst, c64(fb.mb.maxstringlen), fb.str_const(b"%ld (%s)"), ret, name])
    b.branch(done)
    b.position_at_end(other)
    spec = _pick(b, b.icmp_signed("==", fmt, c64(2)), fb.str_const(b"0x%lx"),
                 _pick(b, b.icmp_signed("==", fmt, c64(3)), fb.str_const(b"%#lo"), fb.str_const(b"%ld")))
    b.call(_snprintf(fb.mb), [dst, c64(fb.mb.maxstringlen), spec, ret])
    b.branch(done)
    b.position_at_end(done)
    return dst
