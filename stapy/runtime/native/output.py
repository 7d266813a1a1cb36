"""The session output buffer: preallocated, appended to by handlers, drained with write(2).

Layout of an output object (OUT_BYTES, i64 words): 0 data, 1 len, 2 cap,
3 fd, 4 first error (-errno, 0 if none), 5 bytes written so far, 6 rotate
(0, or an `i64 (*)(i64 n)` the runner installs for -S: called before each
drain of n bytes, it returns the fd to write them to -- staprun's
switch_outfile decision, taken per drained chunk as relay.c does per message).  A full
buffer is drained before more is appended; a drain loops over partial
writes and retries EINTR, so nothing is lost short of a real I/O error.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.runtime.native.helpers import FMT_SIGN
from stapy.runtime.native.irkit import I32, I64, PTR, Fn, c64

DATA, LEN, CAP, FD, ERR, WRITTEN, ROTATE = range(7)
EINTR = 4


def build(lib):
    write = lib.external("write", I64, [I32, PTR, I64])
    errno_loc = lib.external("__errno_location", PTR, [])

    f = Fn(lib, "stp_out_init", "void", ["ptr", "ptr", "i64", "i64"], ["out", "data", "cap", "fd"])
    f.memset(f["out"], 0, c64(64))
    f.st(PTR, f["out"], DATA * 8, f["data"])
    f.st64(f["out"], CAP, f["cap"])
    f.st64(f["out"], FD, f["fd"])
    f.finish()

    f = Fn(lib, "stp_i_out_drain", "void", [PTR], ["out"], internal=True)
    b = f.b
    out = f["out"]
    data = f.ld(PTR, out, DATA * 8)
    n = f.ld64(out, LEN)
    rotate = f.ld64(out, ROTATE)
    with f.if_(b.and_(f.ne(rotate, 0), f.gt(n, 0))):
        cb = b.inttoptr(rotate, ir.FunctionType(I64, [I64]).as_pointer())
        fd = b.call(cb, [n])
        with f.if_(f.ge(fd, 0)):
            f.st64(out, FD, fd)
    off = f.var(I64, 0)
    with f.while_(lambda: f.lt(f.get(off), n)):
        r = b.call(write, [b.trunc(f.ld64(out, FD), I32), f.at(data, f.get(off)), b.sub(n, f.get(off))])
        with f.if_(f.lt(r, 0)):
            e = b.sext(b.load(b.call(errno_loc, []), typ=I32), I64)
            f.continue_if(f.eq(e, EINTR))
            with f.if_(f.eq(f.ld64(out, ERR), 0)):
                f.st64(out, ERR, b.neg(e))
            f.brk()
        f.set(off, b.add(f.get(off), r))
        f.st64(out, WRITTEN, b.add(f.ld64(out, WRITTEN), r))
    f.st64(out, LEN, 0)
    f.finish()

    f = Fn(lib, "stp_out_write", "void", ["ptr", "ptr", "i64"], ["out", "p", "n"])
    b = f.b
    out = f["out"]
    p = f.var(PTR, f["p"])
    n = f.var(I64, f["n"])
    with f.while_(lambda: f.gt(f.get(n), 0)):
        length = f.ld64(out, LEN)
        room = b.sub(f.ld64(out, CAP), length)
        f.break_if(f.le(f.ld64(out, CAP), 0))  # no buffer: nothing can be kept
        with f.if_(f.le(room, 0)):
            f.call("stp_i_out_drain", out)
            f.cont()
        k = f.min(f.get(n), room)
        f.memcpy(f.at(f.ld(PTR, out, DATA * 8), length), f.get(p), k)
        f.st64(out, LEN, b.add(length, k))
        f.set(p, f.at(f.get(p), k))
        f.set(n, b.sub(f.get(n), k))
    f.finish()

    f = Fn(lib, "stp_out_flush", "i64", ["ptr"], ["out"])
    f.call("stp_i_out_drain", f["out"])
    f.finish(f.ld64(f["out"], ERR))

    f = Fn(lib, "stp_out_str", "void", ["ptr", "ptr"], ["out", "s"])
    f.call("stp_out_write", f["out"], f["s"], f.call("stp_strlen", f["s"]))
    f.finish()

    f = Fn(lib, "stp_out_long", "void", ["ptr", "i64"], ["out", "v"])
    tmp = f.buffer(32)
    n = f.call("stp_fmt_num", tmp, c64(0), c64(32), f["v"], FMT_SIGN, c64(-1), c64(-1), 10)
    f.call("stp_out_write", f["out"], tmp, n)
    f.finish()

    f = Fn(lib, "stp_out_char", "void", ["ptr", "i64"], ["out", "c"])
    tmp = f.buffer(1)
    f.st8(tmp, 0, f["c"])
    f.call("stp_out_write", f["out"], tmp, c64(1))
    f.finish()
