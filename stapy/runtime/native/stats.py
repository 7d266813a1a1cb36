"""Statistics: `<<<`, the @ aggregates, histograms and their text (runtime/stat.c, stat-common.c).

A stat object is i64 words: 0 htype, 1 start, 2 interval, 3 nbuckets,
4 shift, 5 count, 6 sum, 7 min, 8 max, 9 avg_s, 10 M2, 11 variance_s, then
nbuckets histogram counters.  `<<<` follows __stp_stat_add exactly,
including its Welford update with a 32-bit `int delta`; @variance follows
_stp_stat_get's one-CPU aggregation ((n(avg_s-A)^2 + (n-1)var_s)/(n-1)) >> 2b for a scalar,
and for an array element (op 6) map.c's _new_map_copy_stat: variance_s >> 2b.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.runtime.native.helpers import FMT_SIGN, HIST_LINEAR, HIST_LOG
from stapy.runtime.native.irkit import I1, I32, I64, PTR, Fn, c64

HTYPE, START, INTERVAL, NBUCKETS, SHIFT, COUNT, SUM, MIN, MAX, AVG_S, M2, VAR_S = range(12)
HIST = 12
LOG_BUCKETS = 128
LOG_BUCKET0 = 64
MAX_BUCKETS = 128


def build(lib):
    _build_core(lib)
    _build_hist_text(lib)


def _build_core(lib):
    ctlz = lib.external("llvm.ctlz.i64", I64, [I64, I1])

    f = Fn(lib, "stp_hist_buckets", "i64", ["i32", "i64", "i64", "i64"], ["htype", "start", "stop", "interval"])
    b = f.b
    ht = b.sext(f["htype"], I64)
    f.return_if(f.eq(ht, HIST_LOG), c64(LOG_BUCKETS))
    f.return_if(f.ne(ht, HIST_LINEAR), c64(0))
    f.return_if(f.eq(f["interval"], 0), c64(0))
    n = b.add(b.sdiv(b.sub(f["stop"], f["start"]), f["interval"]), c64(3))
    f.return_if(b.or_(f.gt(n, MAX_BUCKETS), f.lt(n, 3)), c64(0))
    f.finish(n)

    f = Fn(lib, "stp_stat_bytes", "i64", ["i32", "i64", "i64", "i64"], ["htype", "start", "stop", "interval"])
    n = f.call("stp_hist_buckets", f["htype"], f["start"], f["stop"], f["interval"])
    f.finish(f.b.mul(f.b.add(n, c64(HIST)), c64(8)))

    f = Fn(lib, "stp_stat_init", "void", ["ptr", "i32", "i64", "i64", "i64", "i64"],
           ["stat", "htype", "start", "stop", "interval", "shift"])
    n = f.call("stp_hist_buckets", f["htype"], f["start"], f["stop"], f["interval"])
    f.memset(f["stat"], 0, f.b.mul(f.b.add(n, c64(HIST)), c64(8)))
    f.st64(f["stat"], HTYPE, f.select(f.eq(n, 0), c64(0), f.b.sext(f["htype"], I64)))
    f.st64(f["stat"], START, f["start"])
    f.st64(f["stat"], INTERVAL, f["interval"])
    f.st64(f["stat"], NBUCKETS, n)
    f.st64(f["stat"], SHIFT, f["shift"])
    f.finish()

    f = Fn(lib, "stp_stat_clear", "void", ["ptr"], ["stat"])
    n = f.ld64(f["stat"], NBUCKETS)
    f.memset(f.at(f["stat"], COUNT * 8), 0, f.b.mul(f.b.add(n, c64(HIST - COUNT)), c64(8)))
    f.finish()

    # bucket of a log histogram: 64 for 0, 128 - clz(|v|) for v > 0, mirrored below 64 for v < 0
    f = Fn(lib, "stp_i_log_bucket", I64, [I64], ["v"], internal=True)
    b = f.b
    v = f["v"]
    f.return_if(f.eq(v, 0), c64(LOG_BUCKET0))
    mag = f.select(f.lt(v, 0), b.neg(v), v)
    res = b.sub(c64(LOG_BUCKETS), b.call(ctlz, [mag, ir.Constant(I1, 0)]))
    f.finish(f.select(f.lt(v, 0), b.sub(c64(LOG_BUCKETS), res), res))

    f = Fn(lib, "stp_i_bucket_val", I64, [I64], ["n"], internal=True)
    b = f.b
    n = f["n"]
    f.return_if(f.eq(n, LOG_BUCKET0), c64(0))
    f.return_if(f.lt(n, LOG_BUCKET0), b.ashr(c64(-(1 << 63)), n))
    f.finish(b.shl(c64(1), b.sub(n, c64(LOG_BUCKET0 + 1))))

    f = Fn(lib, "stp_stat_add", "void", ["ptr", "i64"], ["stat", "v"])
    b = f.b
    st, v = f["stat"], f["v"]
    shift = f.ld64(st, SHIFT)
    variance = f.ge(shift, 0)  # stap's stat_op_variance: a negative shift means no @variance on this stat
    vs = b.shl(v, f.max(shift, c64(0)))
    count = f.ld64(st, COUNT)
    with f.if_else(f.eq(count, 0)) as (first, later):
        with first:
            f.st64(st, COUNT, 1)
            f.st64(st, SUM, v)
            f.st64(st, MIN, v)
            f.st64(st, MAX, v)
            with f.if_(variance):
                f.st64(st, AVG_S, vs)
                f.st64(st, M2, 0)
        with later:
            n = b.add(count, c64(1))
            f.st64(st, COUNT, n)
            f.st64(st, SUM, b.add(f.ld64(st, SUM), v))
            with f.if_(f.gt(v, f.ld64(st, MAX))):
                f.st64(st, MAX, v)
            with f.if_(f.lt(v, f.ld64(st, MIN))):
                f.st64(st, MIN, v)
            with f.if_(variance):
                delta = b.sext(b.trunc(b.sub(vs, f.ld64(st, AVG_S)), I32), I64)  # stap's `int delta`
                avg = b.add(f.ld64(st, AVG_S), b.sdiv(delta, n))
                f.st64(st, AVG_S, avg)
                m2 = b.add(f.ld64(st, M2), b.mul(delta, b.sub(vs, avg)))
                f.st64(st, M2, m2)
                f.st64(st, VAR_S, f.select(f.lt(n, 2), c64(-1), b.sdiv(m2, b.sub(n, c64(1)))))
    ht = f.ld64(st, HTYPE)
    nb = f.ld64(st, NBUCKETS)
    with f.if_(f.eq(ht, HIST_LOG)):
        k = f.call("stp_i_log_bucket", v)
        k = f.select(f.ge(k, nb), b.sub(nb, c64(1)), k)
        f.st64(st, b.add(k, c64(HIST)), b.add(f.ld64(st, b.add(k, c64(HIST))), c64(1)))
    with f.if_(f.eq(ht, HIST_LINEAR)):
        rel = b.sub(v, f.ld64(st, START))
        k = f.select(f.lt(rel, 0), c64(0), b.add(b.udiv(rel, f.ld64(st, INTERVAL)), c64(1)))
        k = f.select(f.ge(k, b.sub(nb, c64(1))), b.sub(nb, c64(1)), k)
        f.st64(st, b.add(k, c64(HIST)), b.add(f.ld64(st, b.add(k, c64(HIST))), c64(1)))
    f.finish()

    # _stp_div64 semantics: a zero divisor gives 0
    f = Fn(lib, "stp_i_div", I64, [I64, I64], ["x", "y"], internal=True)
    f.return_if(f.eq(f["y"], 0), c64(0))
    f.return_if(f.b.and_(f.eq(f["y"], -1), f.eq(f["x"], -(1 << 63))), f["x"])
    f.finish(f.b.sdiv(f["x"], f["y"]))

    f = Fn(lib, "stp_stat_get", "i32", ["ptr", "ptr", "i32", "ptr"], ["ctx", "stat", "op", "out"])
    b = f.b
    st = f["stat"]
    op = b.sext(f["op"], I64)
    count = f.ld64(st, COUNT)
    with f.if_(f.eq(op, 0)):
        f.st64(f["out"], 0, count)
        f.ret(0)
    with f.if_(f.eq(op, 1)):
        f.st64(f["out"], 0, f.ld64(st, SUM))
        f.ret(0)
    with f.if_(f.eq(count, 0)):
        f.call("stp_i_error", f["ctx"], f.cstr("empty aggregate"))
        f.ret(1)
    with f.if_(f.eq(op, 2)):
        f.st64(f["out"], 0, f.ld64(st, MIN))
        f.ret(0)
    with f.if_(f.eq(op, 3)):
        f.st64(f["out"], 0, f.ld64(st, MAX))
        f.ret(0)
    with f.if_(f.eq(op, 4)):
        f.st64(f["out"], 0, f.call("stp_i_div", f.ld64(st, SUM), count))
        f.ret(0)
    shift = f.ld64(st, SHIFT)
    with f.if_(f.eq(op, 6)):
        # an array element (pmap): one CPU's data is copied as is, variance_s >> 2b, no avg term
        f.st64(f["out"], 0, b.ashr(f.ld64(st, VAR_S), b.mul(shift, c64(2))))
        f.ret(0)
    agg_avg = f.call("stp_i_div", b.shl(f.ld64(st, SUM), shift), count)
    d = b.sub(f.ld64(st, AVG_S), agg_avg)
    s1 = b.mul(b.mul(count, d), d)
    s2 = b.mul(b.sub(count, c64(1)), f.ld64(st, VAR_S))
    var_s = f.call("stp_i_div", b.add(s1, s2), b.sub(count, c64(1)))
    f.st64(f["out"], 0, b.ashr(var_s, b.mul(shift, c64(2))))
    f.finish(0)

    f = Fn(lib, "stp_stat_hist_bucket", "i32", ["ptr", "ptr", "i64", "ptr"], ["ctx", "stat", "index", "out"])
    b = f.b
    st, i = f["stat"], f["index"]
    with f.if_(f.eq(f.ld64(st, COUNT), 0)):
        f.call("stp_i_error", f["ctx"], f.cstr("empty aggregate"))
        f.ret(1)
    with f.if_(b.or_(f.lt(i, 0), f.ge(i, f.ld64(st, NBUCKETS)))):
        f.call("stp_i_error", f["ctx"], f.cstr("histogram index out of range"))
        f.ret(1)
    f.st64(f["out"], 0, f.ld64(st, b.add(i, c64(HIST))))
    f.finish(0)


def _build_hist_text(lib):
    """_stp_stat_print_histogram_buf, row by row: into buf (out = null) or the output buffer."""
    width = lib.limits.hist_width
    elision = lib.limits.hist_elision
    rowcap = 2 * max(width, 0) + 160

    f = Fn(lib, "stp_i_needed_space", I64, [I64], ["v"], internal=True)
    b = f.b
    f.return_if(f.eq(f["v"], 0), c64(1))
    space = f.var(I64, f.select(f.lt(f["v"], 0), c64(1), c64(0)))
    t = f.var(I64, f.select(f.lt(f["v"], 0), b.neg(f["v"]), f["v"]))
    with f.while_(lambda: f.ne(f.get(t), 0)):
        f.set(t, b.udiv(f.get(t), c64(10)))
        f.inc(space)
    f.finish(f.get(space))

    f = Fn(lib, "stp_i_hist_render", I64, [PTR, PTR, PTR, I64, I64], ["stat", "out", "buf", "len", "size"],
           internal=True)
    b = f.b
    st = f["stat"]
    nb = f.ld64(st, NBUCKETS)
    htype = f.ld64(st, HTYPE)
    is_log = f.eq(htype, HIST_LOG)
    is_lin = f.eq(htype, HIST_LINEAR)
    length = f.var(I64, f["len"])
    row = f.buffer(rowcap)
    rl = f.var(I64, 0)
    to_out = f.ne(b.ptrtoint(f["out"], I64), 0)

    def hist(i):
        return f.ld64(st, b.add(i, c64(HIST)))

    def emit_row():
        with f.if_else(to_out) as (o, bf):
            with o:
                f.call("stp_out_write", f["out"], row, f.get(rl))
            with bf:
                f.set(length, f.call("stp_fmt_lit", f["buf"], f.get(length), f["size"], row, f.get(rl)))
        f.set(rl, c64(0))

    def lit(text):
        f.set(rl, f.call("stp_fmt_lit", row, f.get(rl), c64(rowcap), f.cstr(text), c64(len(text))))

    def num(v, w=-1):
        f.set(rl, f.call("stp_fmt_num", row, f.get(rl), c64(rowcap), v, FMT_SIGN, w if not isinstance(w, int) else c64(w),
                         c64(-1), 10))

    def s(text_ptr, w):
        f.set(rl, f.call("stp_fmt_str", row, f.get(rl), c64(rowcap), text_ptr, 0, w, c64(-1)))

    with f.if_(b.not_(b.or_(is_log, is_lin))):
        f.ret(f["len"])
    low = f.var(I64, -1)
    high = f.var(I64, 0)
    valmax = f.var(I64, 0)
    i = f.var(I64, 0)
    with f.while_(lambda: f.lt(f.get(i), nb)):
        h = hist(f.get(i))
        with f.if_(b.and_(f.gt(h, 0), f.eq(f.get(low), -1))):
            f.set(low, f.get(i))
        with f.if_(f.gt(h, 0)):
            f.set(high, f.get(i))
        with f.if_(f.gt(h, f.get(valmax))):
            f.set(valmax, h)
        f.inc(i)
    for _ in range(2):
        lo = f.get(low)
        can = f.select(is_log, b.and_(f.ne(lo, LOG_BUCKET0), f.gt(lo, 0)), f.gt(lo, 0))
        with f.if_(can):
            f.set(low, b.sub(f.get(low), c64(1)))
        with f.if_(f.lt(f.get(high), b.sub(nb, c64(1)))):
            f.inc(high)
    under = f.var(I64, 0)
    over = f.var(I64, 0)
    with f.if_(is_lin):
        with f.if_(b.and_(f.eq(f.get(low), 0), f.eq(hist(c64(0)), 0))):
            f.inc(low)
        last = b.sub(nb, c64(1))
        with f.if_(b.and_(f.eq(f.get(high), last), f.eq(hist(last), 0))):
            f.set(high, b.sub(f.get(high), c64(1)))
        with f.if_(f.eq(f.get(low), 0)):
            f.set(under, c64(1))
        with f.if_(f.eq(f.get(high), last)):
            f.set(over, c64(1))
    vm = f.get(valmax)
    w = c64(width)
    scale = f.select(f.le(vm, width), c64(1),
                     b.add(b.udiv(vm, w), b.zext(f.ne(b.urem(vm, w), 0), I64)))
    cnt_space = f.call("stp_i_needed_space", vm)
    start, interval = f.ld64(st, START), f.ld64(st, INTERVAL)
    lin_space = f.max(b.add(f.call("stp_i_needed_space", start), f.get(under)),
                      b.add(f.call("stp_i_needed_space", b.add(start, b.mul(interval, f.get(high)))), f.get(over)))
    log_space = f.max(f.call("stp_i_needed_space", f.call("stp_i_bucket_val", f.get(high))),
                      f.call("stp_i_needed_space", f.call("stp_i_bucket_val", f.get(low))))
    val_space = f.max(f.select(is_lin, lin_space, log_space), c64(5))

    s(f.cstr("value"), val_space)
    lit(" |")
    with f.if_(f.gt(w, 0)):
        j = f.var(I64, 0)
        with f.while_(lambda: f.lt(f.get(j), w)):
            lit("-")
            f.inc(j)
    lit(" count\n")
    emit_row()

    eliding = f.var(I64, 0)
    f.set(i, f.get(low))
    with f.while_(lambda: f.le(f.get(i), f.get(high))):
        iv = f.get(i)
        if elision >= 0:
            max_elide = f.min(c64(elision), nb)
            min_b = f.select(f.gt(b.sub(iv, max_elide), f.get(low)), b.sub(iv, max_elide), f.get(low))
            max_b = f.select(f.lt(b.add(iv, max_elide), f.get(high)), b.add(iv, max_elide), f.get(high))
            elide = f.var(I64)
            f.set(elide, c64(1))
            k = f.var(I64)
            f.set(k, min_b)
            with f.while_(lambda: f.le(f.get(k), max_b)):
                with f.if_(f.ne(hist(f.get(k)), 0)):
                    f.set(elide, c64(0))
                f.inc(k)
            with f.if_(f.ne(f.get(elide), 0)):
                f.set(eliding, c64(1))
                f.inc(i)
                f.cont()
            with f.if_(f.ne(f.get(eliding), 0)):
                s(f.cstr(""), val_space)
                lit(" ~\n")
                emit_row()
                f.set(eliding, c64(0))
        val = f.var(I64)
        prefix = f.var(PTR)
        f.set(prefix, f.cstr(""))
        with f.if_else(is_lin) as (lin, lg):
            with lin:
                f.set(val, b.add(start, b.mul(b.sub(iv, c64(1)), interval)))
                with f.if_(f.eq(iv, 0)):
                    f.set(val, start)
                    f.set(prefix, f.cstr("<"))
                with f.if_(f.eq(iv, b.sub(nb, c64(1)))):
                    f.set(val, b.add(start, b.mul(b.sub(iv, c64(2)), interval)))
                    f.set(prefix, f.cstr(">"))
            with lg:
                f.set(val, f.call("stp_i_bucket_val", iv))
        s(f.get(prefix), b.sub(val_space, f.call("stp_i_needed_space", f.get(val))))
        num(f.get(val))
        lit(" |")
        h = hist(iv)
        bars = b.udiv(h, scale)
        j = f.var(I64)
        f.set(j, c64(0))
        with f.while_(lambda: f.lt(f.get(j), bars)):
            lit("@")
            f.inc(j)
        num(h, b.add(b.sub(w, bars), b.add(c64(1), cnt_space)))
        lit("\n")
        emit_row()
        f.inc(i)
    lit("\n")
    emit_row()
    f.finish(f.get(length))

    f = Fn(lib, "stp_stat_hist_format", "i64", ["ptr", "ptr", "ptr", "i64", "i64"], ["ctx", "stat", "buf", "len", "size"])
    with f.if_(f.eq(f.ld64(f["stat"], COUNT), 0)):
        f.call("stp_i_error", f["ctx"], f.cstr("empty aggregate"))
        f.ret(c64(-1))
    f.finish(f.call("stp_i_hist_render", f["stat"], f.b.inttoptr(c64(0), PTR), f["buf"], f["len"], f["size"]))

    f = Fn(lib, "stp_out_hist", "i32", ["ptr", "ptr", "ptr"], ["ctx", "out", "stat"])
    with f.if_(f.eq(f.ld64(f["stat"], COUNT), 0)):
        f.call("stp_i_error", f["ctx"], f.cstr("empty aggregate"))
        f.ret(1)
    f.call("stp_i_hist_render", f["stat"], f["out"], f.b.inttoptr(c64(0), PTR), c64(0), c64(0))
    f.finish(0)
